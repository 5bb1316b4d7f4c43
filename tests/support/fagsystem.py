"""A fagsystem receiver for DækningAfskrivning callbacks, as a test double of the engine's endpoint.

It implements `oir-fagsystem-v3` far enough to observe what a debtor simulator delivers: it checks
the bearer token and the header block, deduplicates on meddelelseId, and can be told to fail.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

TOKEN = "fagsystem-token"


class Receiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # every delivery, duplicates included
        self.unique: dict[str, dict[str, Any]] = {}  # by meddelelseId
        self.fail_next = 0
        self.lock = threading.Lock()
        self.app = self._build()

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.unique.values() if kind is None or m["type"] == kind]

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/daekningafskrivning")
        async def receive(
            request: Request,
            authorization: str = Header(""),
            x_transaktion_id: str = Header(""),
            x_kommune_cvr: str = Header(""),
        ) -> JSONResponse:
            if authorization != f"Bearer {TOKEN}":
                return JSONResponse({"code": "OIR-401-UNAUTHENTICATED"}, status_code=401)
            if not x_transaktion_id or not x_kommune_cvr:
                return JSONResponse({"code": "OIR-400-HEADER-BLOCK"}, status_code=400)
            body = await request.json()
            with self.lock:
                if self.fail_next:
                    self.fail_next -= 1
                    return JSONResponse({"code": "OIR-503-UNAVAILABLE"}, status_code=503)
                self.received.append({**body, "_cvr": x_kommune_cvr})
                duplicate = body["meddelelseId"] in self.unique
                self.unique.setdefault(body["meddelelseId"], {**body, "_cvr": x_kommune_cvr})
            return JSONResponse({"meddelelseId": body["meddelelseId"], "dublet": duplicate}, status_code=202)

        return app
