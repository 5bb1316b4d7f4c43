"""The garbage-collection policy of a process that serves simulators: survivors of a full collection are
frozen, nothing stays uncollectable for long, and a dropped session hands everything back at once.

Each case runs in a process of its own: the policy is process-wide, and the test process must keep its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from simulators.kernel.collector import GROWTH, MAX_GROWTH, RECHECK_EVERY

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str) -> dict[str, Any]:
    code = textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_without_the_policy_a_collection_freezes_nothing() -> None:
    seen = _run(
        """
        import gc, json
        import simulators.kernel.collector  # imported is not turned on
        gc.collect()
        print(json.dumps({"frozen": gc.get_freeze_count()}))
        """
    )
    assert seen == {"frozen": 0}


def test_survivors_are_frozen_and_a_cycle_that_dies_frozen_is_still_collected() -> None:
    seen = _run(
        """
        import gc, json, weakref
        from simulators.kernel import collector
        collector.keep_long_lived_out_of_sight()
        collector.keep_long_lived_out_of_sight()  # twice: still one hook

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector can free it
        gone = weakref.ref(a)
        gc.collect()
        frozen = gc.get_freeze_count()
        del a, b
        collections = 0
        while gone() is not None and collections < 500:
            gc.collect()
            collections += 1
        print(json.dumps({
            "hooks": gc.callbacks.count(collector._after_collection),
            "frozen_after_a_collection": frozen,
            "collections_until_freed": collections,
            "freed": gone() is None,
        }))
        """
    )
    assert seen["hooks"] == 1
    assert seen["frozen_after_a_collection"] > 1000  # the modules, and the cycle while it lived
    assert seen["freed"]
    # frozen, it outlived the collections up to the next walk of everything: not one longer
    assert 2 <= seen["collections_until_freed"] <= RECHECK_EVERY + 1


def test_a_dropped_session_hands_every_frozen_object_back() -> None:
    seen = _run(
        """
        import gc, json
        from simulators.kernel import collector
        from simulators.kernel.sessions import SessionRegistry
        collector.keep_long_lived_out_of_sight()
        sessions = SessionRegistry(dict, dict)
        sessions.get("world-1")
        gc.collect()
        before = gc.get_freeze_count()
        sessions.drop("world-1")
        after_drop = gc.get_freeze_count()
        sessions.get("world-2")
        gc.collect()
        sessions.reset("world-2")
        after_reset = gc.get_freeze_count()
        print(json.dumps({"before": before, "after_drop": after_drop, "after_reset": after_reset}))
        """
    )
    assert seen["before"] > 1000
    assert seen["after_drop"] == 0 and seen["after_reset"] == 0


def test_everything_is_walked_again_once_the_frozen_heap_has_grown_as_awaited() -> None:
    seen = _run(
        """
        import gc, json
        from simulators.kernel import collector
        collector.keep_long_lived_out_of_sight()
        gc.disable()  # only the collections below: the steps are then known
        gc.collect()  # the start-up walk
        collector.session_dropped()
        gc.collect()  # walks everything again, frees nothing: awaits more than GROWTH; the size to grow from
        walked = gc.get_freeze_count()
        awaited = collector.awaited_growth()
        kept = [[n] for n in range((awaited - 1) * walked - 1000)]  # short of the growth awaited
        gc.collect()
        short_of_it = gc.get_freeze_count()
        kept += [[n] for n in range(2000)]  # past it
        gc.collect()  # freezes the newcomers, sees the growth and hands everything back
        after_growth = gc.get_freeze_count()
        gc.collect()  # walks everything, then freezes it
        after_walk = gc.get_freeze_count()
        print(json.dumps({"walked": walked, "awaited": awaited, "short_of_it": short_of_it,
                          "after_growth": after_growth, "after_walk": after_walk}))
        """
    )
    assert seen["walked"] > 1000
    assert seen["awaited"] in (2 * GROWTH, 4 * GROWTH)  # after one or two walks that freed nothing
    assert seen["short_of_it"] > 0  # nothing handed back short of the growth
    assert seen["after_growth"] == 0
    assert seen["after_walk"] >= seen["awaited"] * seen["walked"]


def test_a_walk_that_frees_nothing_awaits_twice_the_growth_and_one_that_frees_cycles_the_first() -> None:
    """Walking a big heap costs about 0.5 µs an object; a session that only grows holds no cyclic garbage, so each
    fruitless walk doubles the growth awaited before the next (up to a bound). Garbage found brings it back.
    (A dropped session hands everything back: the walks here come without growing the heap.)"""
    seen = _run(
        """
        import gc, json
        from simulators.kernel import collector
        collector.keep_long_lived_out_of_sight()
        gc.disable()
        awaited = []

        def walk():
            collector.session_dropped()  # everything handed back: the next full collection walks it all
            gc.collect()
            awaited.append(collector.awaited_growth())

        gc.collect()
        awaited.append(collector.awaited_growth())
        for _ in range(4):
            walk()  # nothing to free

        class Node:
            pass

        def cycle():
            a, b = Node(), Node()
            a.other, b.other = b, a
            return a

        cycles = [cycle() for _ in range(20_000)]
        gc.collect()  # frozen while alive
        frozen_with_cycles = gc.get_freeze_count()
        del cycles  # cyclic garbage, frozen: only a walk of everything frees it
        walk()
        walk()
        print(json.dumps({"awaited": awaited, "frozen_with_cycles": frozen_with_cycles,
                          "frozen_after": gc.get_freeze_count()}))
        """
    )
    first, *fruitless, freed, after = seen["awaited"]
    assert first in (GROWTH, 2 * GROWTH)  # the start-up walk freed little or nothing
    assert fruitless == [min(first * 2**n, MAX_GROWTH) for n in range(1, 5)]  # e.g. 8, 16, 16, 16
    assert MAX_GROWTH in fruitless
    assert freed == GROWTH  # the walk that freed the frozen cycles
    assert seen["frozen_after"] < seen["frozen_with_cycles"] - 40_000  # they are gone
    assert after == 2 * GROWTH  # and the next fruitless walk doubles again


def test_a_heap_that_only_renews_itself_is_not_walked_again_before_the_recheck() -> None:
    """Survivors that replace others (a steady heap) add up past the double without the heap growing: the
    frozen heap is measured before everything is handed back (review: a running total alone handed it back
    every dozen collections)."""
    seen = _run(
        """
        import gc, json
        from simulators.kernel import collector
        collector.keep_long_lived_out_of_sight()
        gc.disable()
        kept = [[n] for n in range(50_000)]
        gc.collect()  # walks everything, freezes it
        frozen_at_start = gc.get_freeze_count()
        handed_back = 0
        for round in range(40):
            for n in range(round % 5 * 10_000, round % 5 * 10_000 + 10_000):
                kept[n] = [n]  # the old list dies (it is frozen: it leaves the frozen list), a new one survives
            gc.collect()
            handed_back += gc.get_freeze_count() == 0
        print(json.dumps({"frozen_at_start": frozen_at_start, "handed_back": handed_back,
                          "frozen_at_end": gc.get_freeze_count()}))
        """
    )
    assert seen["frozen_at_start"] > 50_000
    assert seen["handed_back"] == 0  # 40 collections, fewer than RECHECK_EVERY; the heap never doubled
    assert seen["frozen_at_end"] < 2 * seen["frozen_at_start"]
