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

from simulators.kernel.collector import FRUITFUL, GROWTH, MAX_GROWTH, RECHECK_EVERY

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


_GROWING = """
    import gc, json
    from simulators.kernel import collector
    collector.keep_long_lived_out_of_sight()
    gc.disable()  # only the collections below: the steps are then known
    kept = []

    def grow_until_handed_back():
        while gc.get_freeze_count() != 0:
            # lists that live on, nothing cyclic to free; a share of the heap, so that growth (not the recheck after
            # RECHECK_EVERY collections) hands it back however big the heap the interpreter starts with
            kept.extend([n] for n in range(max(20_000, gc.get_freeze_count() // 8)))
            gc.collect()
        assert collector._state["why"] == "growth", collector._state["why"]

    gc.collect()  # the start-up walk of everything
"""


def test_everything_is_walked_again_once_the_frozen_heap_has_grown_as_awaited() -> None:
    seen = _run(
        _GROWING
        + """
    first = collector.awaited_growth()
    grow_until_handed_back()
    gc.collect()  # the walk growth called for: it frees nothing
    walked = gc.get_freeze_count()
    awaited = collector.awaited_growth()
    kept.extend([n] for n in range((awaited - 1) * walked - 1000))  # short of the growth awaited
    gc.collect()
    short_of_it = gc.get_freeze_count()
    kept.extend([n] for n in range(2000))  # past it
    gc.collect()  # freezes the newcomers, sees the growth and hands everything back
    after_growth = gc.get_freeze_count()
    gc.collect()  # walks everything, then freezes it
    after_walk = gc.get_freeze_count()
    print(json.dumps({"first": first, "walked": walked, "awaited": awaited, "short_of_it": short_of_it,
                      "after_growth": after_growth, "after_walk": after_walk}))
    """
    )
    assert seen["first"] == GROWTH  # the start-up walk was not one growth called for
    assert seen["walked"] > 1000
    assert seen["awaited"] == MAX_GROWTH
    assert seen["short_of_it"] > 0  # nothing handed back short of the growth
    assert seen["after_growth"] == 0
    assert seen["after_walk"] >= seen["awaited"] * seen["walked"]


def test_a_fruitless_walk_growth_called_for_awaits_more_growth_until_cycles_are_freed_or_a_session_dropped() -> None:
    """Walking a big heap costs about 0.5 µs an object, and a session that only grows holds no cyclic garbage:
    after a walk growth called for that freed (almost) nothing, the next awaits more growth. Cycles that died
    frozen, freed by a walk, or a dropped session (the work changed) bring back the first factor."""
    seen = _run(
        _GROWING
        + """
    awaited = {}
    grow_until_handed_back()
    gc.collect()
    awaited["after_a_fruitless_walk"] = collector.awaited_growth()
    collector.session_dropped()
    awaited["after_a_drop"] = collector.awaited_growth()
    gc.collect()  # the walk the drop called for (it frees nothing) leaves the factor as the drop set it
    awaited["after_the_drops_walk"] = collector.awaited_growth()
    grow_until_handed_back()
    gc.collect()
    awaited["after_another_fruitless_walk"] = collector.awaited_growth()

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return a

    cycles = [cycle() for _ in range(20_000)]
    gc.collect()  # frozen while alive
    del cycles  # cyclic garbage, frozen: only a walk of everything frees it
    grow_until_handed_back()
    gc.collect()
    awaited["after_a_walk_that_freed_cycles"] = collector.awaited_growth()
    print(json.dumps({"awaited": awaited}))
    """
    )
    assert seen["awaited"] == {
        "after_a_fruitless_walk": MAX_GROWTH,
        "after_a_drop": GROWTH,
        "after_the_drops_walk": GROWTH,
        "after_another_fruitless_walk": MAX_GROWTH,
        "after_a_walk_that_freed_cycles": GROWTH,
    }


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


def test_a_walk_counts_as_fruitful_from_one_hundredth_of_what_it_keeps() -> None:
    """The line between "freed almost nothing" and "freed something" is FRUITFUL of the heap the walk kept:
    cycles of half that share leave the growth awaited at its higher factor, twice that share bring back the first."""
    seen = _run(
        _GROWING
        + f"""
    class Node:
        pass

    def garbage_cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a

    def walk_freeing(share):
        grow_until_handed_back()
        heap = len(gc.get_objects())  # everything is handed back: every tracked object
        for _ in range(int(share * heap / 2)):  # two objects a cycle
            garbage_cycle()
        gc.collect()  # the walk growth called for; it frees the cycles
        return collector.awaited_growth()

    awaited = [walk_freeing({FRUITFUL} / 2), walk_freeing({FRUITFUL} * 2), walk_freeing(0)]
    print(json.dumps({{"awaited": awaited}}))
    """
    )
    assert seen["awaited"] == [MAX_GROWTH, GROWTH, MAX_GROWTH]
