"""Two ways a vendor's system can get its credentials wrong, as ASGI wrappers around a debtor simulator:
`AcceptsAnyCredentials` lets every request through with or without a valid bearer token (it must refuse
a missing or wrong one: MSG-CREDENTIALS), and `RefusesEveryone` answers every request 401, so nothing
behind it can be exercised (a check meeting it is an ERROR of the run, never a pass)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.kernel import DEV_TOKEN


class AcceptsAnyCredentials:
    """Reads every request as if it carried the valid token, whatever it carried (or not)."""

    def __init__(self, app: ASGIApp, token: str = DEV_TOKEN) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
            scope = {**scope, "headers": [*headers, (b"authorization", f"Bearer {self.token}".encode())]}
        await self.app(scope, receive, send)


class RefusesEveryone:
    """Answers every HTTP request 401 problem+json, the valid token included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b'{"type":"about:blank","title":"Unauthorized","status":401,"code":"OIR-401-UNAUTHENTICATED"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/problem+json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "http.response.body", "body": body})
