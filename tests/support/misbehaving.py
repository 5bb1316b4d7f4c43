"""A debtor system that breaks one rule, as a non-conforming vendor would: the simulator wrapped in an
ASGI layer that changes one behaviour, and a helper that serves it as a separate HTTP server, wired to
a PSRM and a callback receiver on given ports (where `oir certify --debtor-url` will run them)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typer.testing import CliRunner, Result

from contracts.municipalities import for_vendor
from harness.cli import app
from harness.servers import ServerThread
from harness.servers import free_port as free_port  # the tests take ports from here, as they always did
from simulators import factory

MODES = ("500-on-bad-input", "b03-missing", "ignores-municipality")


class Misbehaving:
    """Wraps a debtor simulator and breaks one behaviour:

    - `500-on-bad-input`: answers 500 where it should refuse bad input with 400 (MSG-PROBLEM-JSON);
    - `b03-missing`: no payment solution (B_03) although the profile declares one (PROFILE-B03-CAPABILITY);
    - `ignores-municipality`: lets any municipality read any account (B01-OWN-ACCOUNTS-ONLY), by reading
      every account lookup as if the owner (`owner_cvr`) had asked.
    """

    def __init__(self, app: ASGIApp, mode: str, owner_cvr: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown misbehaviour {mode!r}; known: {', '.join(MODES)}")
        self.app, self.mode, self.owner_cvr = app, mode, owner_cvr

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def patched(message: Message) -> None:
            if (
                self.mode == "500-on-bad-input"
                and message["type"] == "http.response.start"
                and message["status"] == 400
            ):
                message = {**message, "status": 500}
            await send(message)

        if self.mode == "b03-missing" and scope["path"].startswith("/indbetaling"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/problem+json")],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": b'{"code":"OIR-404-NOT-FOUND","title":"x","status":404,"type":"x"}',
                }
            )
            return
        if (
            self.mode == "ignores-municipality"
            and self.owner_cvr
            and scope["method"] == "GET"
            and scope["path"].startswith("/debitorkonti/")
        ):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-kommune-cvr"]
            scope = {**scope, "headers": [*headers, (b"x-kommune-cvr", self.owner_cvr.encode())]}
        await self.app(scope, receive, patched)


def misbehaving_debtor(
    mode: str,
    profile: str = "kmd-opus",
    *,
    psrm_port: int,
    callback_port: int,
    callback_token: str = "certification-callback-token",
    **settings: Any,
) -> ServerThread:
    """A broken debtor system as its own server, configured for a certification run's counterparts."""
    app = vendor_debtor(
        profile, psrm_port=psrm_port, callback_port=callback_port, callback_token=callback_token, **settings
    )
    owner = for_vendor(profile)[0].cvr
    return ServerThread(Misbehaving(app, mode, owner_cvr=owner), name=f"misbehaving-{mode}", log_level="critical")


def vendor_debtor(
    profile: str,
    *,
    psrm_port: int,
    callback_port: int,
    callback_token: str = "certification-callback-token",
    **settings: Any,
) -> ASGIApp:
    """A debtor simulator configured as a vendor's engineer would configure their system for a
    certification run: the PSRM and callback URLs on the given ports, and the callback token."""
    app: ASGIApp = factory("debtor")(
        profile=profile,
        psrm_url=f"http://127.0.0.1:{psrm_port}",
        callback_url=f"http://127.0.0.1:{callback_port}",
        callback_token=callback_token,
        **settings,
    )
    return app


class Slow:
    """Answers `method path` calls `delay_s` late, as a slow but otherwise conforming system would: the
    first `calls` such calls (None: every one). Whether that is conforming depends on the profile's
    answer-time limit; the answers themselves are the simulator's."""

    def __init__(self, app: ASGIApp, delay_s: float, *, method: str, path: str, calls: int | None = None) -> None:
        self.app, self.delay_s, self.method, self.path, self.left = app, delay_s, method, path, calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == self.method and scope["path"] == self.path:
            if self.left is None or self.left > 0:
                if self.left is not None:
                    self.left -= 1
                await asyncio.sleep(self.delay_s)
        await self.app(scope, receive, send)


class DuplicateCallback:
    """A vendor's bug no check awaits: after registering the first probe claim (`CERT-…`), it reports a
    payment of its full amount on it to the fagsystem twice, under two message ids (B01R-EXACTLY-ONCE).
    Everything else is the simulator's."""

    def __init__(self, app: ASGIApp, callback_url: str, callback_token: str) -> None:
        self.app, self.callback_url, self.callback_token = app, callback_url.rstrip("/"), callback_token
        self.sent = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.sent or scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/debitorkonti":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replay, watch)
        try:
            account = json.loads(body)
            claim = account["fordringer"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            return
        if status == [201] and str(claim.get("fordringId", "")).startswith("CERT-") and not self.sent:
            self.sent = True
            cvr = dict(scope["headers"]).get(b"x-kommune-cvr", b"").decode()
            task = asyncio.create_task(self._pay_twice(account["debitorkontoId"], claim, cvr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pay_twice(self, account: str, claim: dict[str, Any], cvr: str) -> None:
        amount = sum(part["beloebOere"] for part in claim["delfordringer"])
        message = {
            "debitorkontoId": account,
            "fordringId": claim["fordringId"],
            "type": "DAEKNING",
            "beloebOere": amount,
            "dato": "2026-01-05",
            "kilde": "BANK",
        }
        async with httpx.AsyncClient(timeout=10.0) as client:
            for _ in range(2):
                await client.post(
                    f"{self.callback_url}/daekningafskrivning",
                    json={**message, "meddelelseId": str(uuid.uuid4())},
                    headers={
                        "Authorization": f"Bearer {self.callback_token}",
                        "X-Transaktion-Id": str(uuid.uuid4()),
                        "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
                        "X-Kommune-Cvr": cvr,
                    },
                )


class AsARealSystem:
    """A simulator as a vendor's real test system looks from outside: no `/_sim/` control plane (no
    virtual clock to move) and no sessions — one world that keeps whatever every run registered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"].startswith("/_sim"):
                await JSONResponse({"code": "OIR-404-NOT-FOUND"}, status_code=404)(scope, receive, send)
                return
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-sim-session"]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def certify_vendor(
    out: Path,
    url: str,
    psrm_port: int,
    callback_port: int,
    *extra: str,
    env: dict[str, str] | None = None,
    profile: str = "kmd-opus",
) -> Result:
    """`oir certify` against the vendor's system at `url` as the vendor-mode tests run it: fixed PSRM and
    callback ports, two examples per operation, a 10 s wait for callbacks."""
    return CliRunner().invoke(
        app,
        [
            "certify",
            "--profile",
            profile,
            "--debtor-url",
            url,
            "--psrm-port",
            str(psrm_port),
            "--callback-port",
            str(callback_port),
            "--max-examples",
            "2",
            "--callback-timeout",
            "10",
            "--out",
            str(out),
            *extra,
        ],
        env=env,
    )
