"""The servers a benchmark measures, as uvicorn app factories.

`bare` is the baseline: a FastAPI endpoint that parses the same JSON body and answers 201, on the
same uvicorn settings, so the ratio shows what the simulator's own work costs. Every target's process
collects garbage as `oir sim serve`'s does (`simulators.kernel.collector`); the bare endpoint keeps
nothing, so for it that changes nothing but keeps the two processes alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _as_oir_sim_serve() -> None:
    from simulators.kernel.collector import keep_long_lived_out_of_sight

    keep_long_lived_out_of_sight()


def bare() -> FastAPI:
    _as_oir_sim_serve()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/debitorkonti")
    async def create(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        return JSONResponse({"debitorkontoId": body["debitorkontoId"], "oprettet": True}, status_code=201)

    return app


def debtor() -> FastAPI:
    from simulators.debtor.app import create_app

    _as_oir_sim_serve()
    return create_app(profile="kmd-opus")


def debtor_profile() -> FastAPI:
    """The debtor simulator of the profile named by $OIR_BENCH_PROFILE."""
    import os

    from simulators.debtor.app import create_app

    _as_oir_sim_serve()
    return create_app(profile=os.environ["OIR_BENCH_PROFILE"])


def fbs() -> FastAPI:
    from simulators.fbs.app import create_app

    _as_oir_sim_serve()
    return create_app()
