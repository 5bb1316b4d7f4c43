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
dropped or reset (the moment a world's objects become garbage), when the frozen heap has doubled since the
last such walk, and after `RECHECK_EVERY` full collections at the latest. Walking everything once per
doubling costs about twice the heap over its growth; CPython's own rule (a walk each time the oldest
generation grew by a quarter) about five times. Process-wide, so only a process that exists to serve
simulators turns it on; tests and scenario worlds, which share their process with other work, do not.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

RECHECK_EVERY = 64  # full collections between two walks of everything, at the latest
GROWTH = 2  # or as soon as the frozen heap is this many times what the last walk of everything left

_lock = threading.Lock()
# "frozen": how many objects this policy froze since everything was last handed back. Counted here because
# `gc.get_freeze_count()` walks the whole frozen list: asked after every full collection, it made each one
# cost the whole heap again, which freezing exists to avoid.
_state = {"installed": False, "since_walk": 0, "walked": 0, "frozen": 0}


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    if phase != "stop" or info.get("generation") != 2:
        return
    # What this collection left in the oldest generation: only what it walked, so counting it costs what the
    # collection cost (after a full collection the younger generations are empty).
    survivors = len(gc.get_objects(generation=2))
    walked_everything = _state["frozen"] == 0  # nothing was frozen: this collection saw every object
    gc.freeze()
    _state["frozen"] += survivors
    if walked_everything:
        _state["walked"], _state["since_walk"] = _state["frozen"], 0
        return
    _state["since_walk"] += 1
    if _state["since_walk"] >= RECHECK_EVERY or _state["frozen"] >= GROWTH * max(_state["walked"], 1):
        _hand_back()  # the next full collection walks everything again


def _hand_back() -> None:
    gc.unfreeze()
    _state["frozen"] = 0


def keep_long_lived_out_of_sight() -> None:
    """Turn the policy on for this process (idempotent)."""
    with _lock:
        if not _state["installed"]:
            gc.callbacks.append(_after_collection)
            _state["installed"] = True


def session_dropped() -> None:
    """A session's objects may have become garbage: hand every frozen object back to the collector."""
    if _state["installed"]:
        _hand_back()
