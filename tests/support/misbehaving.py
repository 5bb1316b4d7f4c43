"""A debtor system that breaks one rule, as a non-conforming vendor would: the simulator wrapped in an
ASGI layer that changes one behaviour, and a helper that serves it as a separate HTTP server, wired to
a PSRM and a callback receiver on given ports (where `oir certify --debtor-url` will run them)."""

from __future__ import annotations

import socket
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.municipalities import for_vendor
from harness.servers import ServerThread
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


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for a server another process will bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
