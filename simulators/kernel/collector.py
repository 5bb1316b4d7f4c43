"""Garbage collection for a process that serves simulators for a long time (`oir sim serve`).

A simulator session keeps what it was told: every account, claim, sub-claim, journal entry and stored
answer, a dozen objects the collector tracks per registration. CPython (3.11) collects its oldest
generation each time that generation has grown by a quarter, and each such collection walks every
tracked object of the process: the longer a simulator serves, the more each collection costs. In-process,
48,000 registrations paid 2.0 s for 12 of them, 43 µs a registration on average.

`keep_long_lived_out_of_sight()` makes what survives a full collection long-lived: frozen (`gc.freeze`),
so the next collections walk only what came after it (0.35 s for the same run when frozen after every
full collection; 0.70 s with the walks of everything described next). A frozen object that
later becomes cyclic garbage is not collected while frozen, so everything goes back under the collector
(`gc.unfreeze`) and the next full collection walks the whole heap, freeing such cycles: when a session is
dropped or reset (the moment a world's objects become garbage), when the frozen heap has grown by the awaited
factor since the last such walk, and after `RECHECK_EVERY` full collections at the latest.

The awaited factor starts at `GROWTH` (2). A walk that growth called for and that freed almost nothing (under
`FRUITFUL` of what it kept) makes it `MAX_GROWTH` (4); any walk that freed more, or a dropped session (a change
of work), brings it back to 2. A session that only grows (a registration per claim) holds no cyclic garbage: its
walks found none, and on a big heap each costs about 0.5 µs an object (700 ms for 1.4 million in-process).
Walking everything once per growth by a factor g costs about g/(g−1) times the final heap: twice at 2, 1.33
times at 4 (CPython's own rule, a walk each time the oldest generation grew by a quarter: about five times).
The price is memory: cycles that die frozen may reach up to four times (not twice) the heap the last walk left
before the next walk frees them. Without a bound (a factor of 16), a workload that turned to making cycles was
measured holding eleven times as many frozen objects as live ones (411 MB resident, against 123 MB with the
factor at 2), so the factor stops at 4.

Process-wide, so only a process that exists to serve simulators turns it on; tests and scenario worlds, which
share their process with other work, do not. Written for CPython's generational collector (3.11–3.13: a full
collection is generation 2 and leaves every survivor there); on a later CPython, whose collector works
otherwise, the policy stays off.
"""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

RECHECK_EVERY = 64  # full collections between two walks of everything, at the latest
GROWTH = 2  # or once the frozen heap is this many times what the last walk of everything left (the first factor)
MAX_GROWTH = 4  # the factor after a walk that growth called for freed almost nothing
FRUITFUL = 0.01  # ... less than this share of what it kept

_lock = threading.Lock()  # the hook and a session's drop (another thread) never interleave their steps
# "frozen": at least how many objects are frozen now: what each full collection froze, added up since everything
# was last handed back (a frozen object that dies leaves the frozen list, so this may be more than is there).
# Counted here because `gc.get_freeze_count()` walks the whole frozen list: asked after every full collection,
# it made each one cost the whole heap again, which freezing exists to avoid. It is asked only when this
# count says the heap may have grown by the awaited factor. "all_visible": nothing frozen, the next full
# collection walks all; "why": what handed everything back ("start", "growth", "recheck" or "drop").
_state: dict[str, Any] = {
    "installed": False,
    "since_walk": 0,
    "walked": 0,
    "frozen": 0,
    "measured": 0,  # what `gc.get_freeze_count()` said when last asked
    "all_visible": True,
    "growth": GROWTH,  # the factor awaited now before everything is handed back
    "why": "start",
}


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    if phase != "stop" or info.get("generation") != 2:
        return
    if not _lock.acquire(blocking=False):  # a session is being dropped: this collection freezes nothing
        return
    try:
        _freeze_survivors(int(info.get("collected", 0)))
    finally:
        _lock.release()


def _freeze_survivors(collected: int) -> None:
    # What this full collection left in the oldest generation is what it walked (the younger generations are
    # empty after it, but for what a finalizer or another thread made since): about what `freeze` now freezes.
    survivors = len(gc.get_objects(generation=2))
    walked_everything = _state["all_visible"]
    gc.freeze()
    _state["frozen"] += survivors
    _state["all_visible"] = False
    if walked_everything:
        _state["walked"], _state["since_walk"] = _state["frozen"], 0
        if collected >= FRUITFUL * survivors:  # cyclic garbage is being made: await the first factor (safe always)
            _state["growth"] = GROWTH
        elif _state["why"] == "growth":  # only a walk growth called for says growth makes none
            _state["growth"] = MAX_GROWTH
        return
    _state["since_walk"] += 1
    awaited = max(_state["growth"] * _state["walked"], 1)
    if _state["since_walk"] >= RECHECK_EVERY:
        _hand_back("recheck")  # the next full collection walks everything again
    elif _state["frozen"] >= max(awaited, _state["measured"] + _state["walked"] // 4):
        # It may have grown as awaited: measure what is really frozen (survivors that died since are gone), at
        # most once per quarter of the walked heap frozen since the last measure, so a heap just short of it is
        # not walked again after every collection.
        _state["frozen"] = _state["measured"] = gc.get_freeze_count()
        if _state["frozen"] >= awaited:
            _hand_back("growth")


def _hand_back(why: str) -> None:
    gc.unfreeze()
    _state["frozen"], _state["measured"], _state["all_visible"], _state["why"] = 0, 0, True, why


def awaited_growth() -> int:
    """How many times the heap the last walk of everything left the frozen heap must reach before the next."""
    return int(_state["growth"])


def keep_long_lived_out_of_sight() -> None:
    """Turn the policy on for this process (idempotent)."""
    with _lock:
        if not _state["installed"] and sys.version_info < (3, 14):
            gc.callbacks.append(_after_collection)
            _state["installed"] = True


def session_dropped() -> None:
    """A session's objects may have become garbage: hand every frozen object back to the collector. The work
    has changed, so the next growth awaited is the first factor again."""
    if _state["installed"]:
        with _lock:
            _hand_back("drop")
            _state["growth"] = GROWTH
