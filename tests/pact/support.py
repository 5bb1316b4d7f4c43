"""Shared pieces of the Pact tests: matchers for the header block and the ids, an engine pointed at
mock servers, synthetic people, and a provider that breaks the pacts. Examples in the committed pacts
are synthetic only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pact import Pact, match
from pact.match import AbstractMatcher
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.checks.pact import PACT_DIR
from contracts.synthetic import SyntheticData
from contracts.wire import ID_PATTERN
from integration import Engine, EngineSettings, ManualClock

COPENHAGEN_CVR = "64942212"  # kmd-opus; verification replaces it with a municipality of each profile
_PEOPLE = SyntheticData(20261125)
CPR = _PEOPLE.cpr()
NEW_CPR = _PEOPLE.cpr()
DATE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
CPR_RE = r"^[0-9]{10}$"
ID_RE = ID_PATTERN


def new_pact(consumer: str, provider: str) -> Pact:
    """One Pact object per test (a served Pact cannot be reused)."""
    return Pact(consumer, provider)


def write(pact: Pact) -> None:
    pact.write_file(PACT_DIR)  # merges into the file; the consumer run clears the folder first


def header_block(*, municipality: bool = True) -> dict[str, AbstractMatcher[Any]]:
    headers: dict[str, AbstractMatcher[Any]] = {
        "Authorization": match.regex("Bearer oir-dev-token", regex=r"^Bearer \S+$"),
        "X-Transaktion-Id": match.uuid(),
        "X-Transaktion-Tid": match.regex("2026-01-05T08:00:00+00:00", regex=DATETIME),
    }
    if municipality:
        headers["X-Kommune-Cvr"] = match.regex(COPENHAGEN_CVR, regex=r"^[0-9]{8}$")
    return headers


def ident(example: str) -> AbstractMatcher[str]:
    return match.regex(example, regex=ID_RE)


def injected(example: str, expression: str, *, regex: str | None = None) -> AbstractMatcher[Any]:
    """A value the provider state supplies: the example here, the state's value when verified.

    With `regex` the consumer's value must also match it (a regex rule carrying the generator)."""
    from pact import generate
    from pact.match.matcher import GenericMatcher

    generator = generate.provider_state(expression)
    if regex is None:
        return match.like(example, generator=generator)
    return GenericMatcher("regex", example, regex=regex, generator=generator)


def injected_path(example: str, expression: str) -> AbstractMatcher[Any]:
    """A request path with the provider state's ids in it (`/fordringer/${fordringId}/tilstand`)."""
    from pact import generate

    return match.like(example, generator=generate.provider_state(expression))


def date(example: str) -> AbstractMatcher[str]:
    return match.regex(example, regex=DATE)


def engine(tmp_path: Path, *, fbs_url: str = "http://127.0.0.1:9", debtor_url: str | None = None) -> Engine:
    """The real integration engine on a fresh SQLite file, its routes pointed at the mock servers."""
    settings = EngineSettings(
        fbs_url=fbs_url,
        debtor_urls={"kmd-opus": debtor_url} if debtor_url else {},
        database_url=f"sqlite:///{tmp_path / 'engine.sqlite'}",
        backoff_base_s=0.0,
    )
    return Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)), seed=1)


def outbox(sync: Engine) -> list[tuple[str, str, str]]:
    from integration.store import OutboxMessage

    with sync.store() as session:
        return [(m.kind, m.status, m.path) for m in session.query(OutboxMessage).order_by(OutboxMessage.id)]


class RenameField:
    """A provider that breaks the pact: a field (`saldoOere`) is renamed (`saldo`) in every JSON answer."""

    def __init__(self, app: ASGIApp, old: str = "saldoOere", new: str = "saldo") -> None:
        self.app = app
        self.old, self.new = f'"{old}"'.encode(), f'"{new}"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: list[Message] = []
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            changed = bytes(body).replace(self.old, self.new)
            headers = [(k, v) for k, v in start[0]["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(changed)).encode()))
            await send({**start[0], "headers": headers})
            await send({"type": "http.response.body", "body": changed})

        await self.app(scope, receive, capture)
