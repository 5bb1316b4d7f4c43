"""Per-session state namespaces, selected by the `X-Sim-Session` request header.

Parallel test workers, scenarios and several vendors share one running simulator; each session has
its own clock, journal, fault rules, settings, replay store and domain state, so they never see each
other's data. A session springs into existence on first use.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import collector
from .clock import VirtualClock
from .faults import FaultBook
from .journal import Journal

SESSION_HEADER = "x-sim-session"
DEFAULT_SESSION = "default"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

StateT = TypeVar("StateT")


@dataclass
class StoredAnswer:
    """An answer kept for replay when a client retries with the same transaction id."""

    fingerprint: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Session(Generic[StateT]):
    id: str
    state: StateT
    settings: dict[str, Any]
    clock: VirtualClock = field(default_factory=VirtualClock)
    journal: Journal = field(default_factory=Journal)
    faults: FaultBook = field(default_factory=FaultBook)
    answers: dict[str, StoredAnswer] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SessionRegistry(Generic[StateT]):
    """All sessions of one simulator app."""

    def __init__(self, state_factory: Callable[[], StateT], default_settings: Callable[[], dict[str, Any]]) -> None:
        self._state_factory = state_factory
        self._default_settings = default_settings
        self._sessions: dict[str, Session[StateT]] = {}

    @staticmethod
    def valid_id(session_id: str) -> bool:
        return bool(_SESSION_ID.match(session_id))

    def get(self, session_id: str) -> Session[StateT]:
        session = self._sessions.get(session_id)
        if session is None:
            session = Session(id=session_id, state=self._state_factory(), settings=self._default_settings())
            self._sessions[session_id] = session
        return session

    def drop(self, session_id: str) -> None:
        """Forget a session (a closed scenario world's): one dict operation, so safe from another thread of
        the process that serves this registry; a later request under its id starts a fresh one."""
        if self._sessions.pop(session_id, None) is not None:
            collector.session_dropped()

    def reset(self, session_id: str) -> Session[StateT]:
        self.drop(session_id)
        return self.get(session_id)

    def ids(self) -> list[str]:
        # a copy first (one dict operation): another thread of the process may drop a session meanwhile
        return sorted(self._sessions.copy())
