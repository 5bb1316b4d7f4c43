"""The one app factory every simulator is built by.

It wires the kernel (sessions, auth, faults, journal, replay, problem+json, control plane) around a
simulator's own routers, and serves the simulator's hand-written contract as `/openapi.json`, so the
schemathesis command line pointed at a running simulator fuzzes it against the contract itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from contracts.limits import MESSAGE_LIMITS, BodyLimitMiddleware, BodyLimits
from contracts.prebuilt_routes import build_routes_now, serve_routes
from contracts.problems import install_problem_handlers
from contracts.specs import load_spec

from . import control
from .auth import Principal, default_tokens
from .middleware import SimulatorMiddleware
from .runtime import SimRuntime, SimulatorSpec
from .sessions import SessionRegistry

BODY_LIMITS = MESSAGE_LIMITS  # looked up when an app is built, so a test can tighten it


def create_simulator_app(
    spec: SimulatorSpec,
    *,
    tokens: dict[str, Principal] | None = None,
    settings: dict[str, Any] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    limits: BodyLimits | None = None,
) -> FastAPI:
    """Build a simulator app.

    `settings` override the spec's defaults for every new session (e.g. the PSRM URL a debtor
    simulator calls); `transports` mount in-process apps by URL prefix for outgoing calls; `limits`
    bound a request body's size and read time (default `BODY_LIMITS`: every message the contracts
    allow fits).
    """
    unknown = set(settings or {}) - set(spec.settings_defaults)
    if unknown:
        raise ValueError(f"{spec.name}: unknown settings {sorted(unknown)}")
    defaults = {**spec.settings_defaults, **(settings or {})}
    runtime = SimRuntime(
        spec=spec,
        sessions=SessionRegistry(spec.state_factory, lambda: dict(defaults)),
        tokens=tokens or default_tokens(),
        app_settings=defaults,
        transports=transports or {},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await runtime.aclose()  # the outgoing client (PSRM, callbacks) closes with the server

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.sim = runtime
    install_problem_handlers(app)
    serve_routes(app, *spec.routers, control.router)
    app.add_middleware(SimulatorMiddleware, runtime=runtime)
    # outermost, so the journal and replay middleware read the body through it
    app.add_middleware(BodyLimitMiddleware, limits=limits or BODY_LIMITS)

    contract = load_spec(spec.contract)
    control_contract = load_spec("sim-control")

    @app.get("/openapi.json", include_in_schema=False)
    async def _contract() -> JSONResponse:
        return JSONResponse(contract)

    @app.get("/_sim/openapi.json", include_in_schema=False)
    async def _control_contract() -> JSONResponse:
        return JSONResponse(control_contract)

    return build_routes_now(app)  # here, not in a server thread on the first request (see the module)


TEST_CONTROL_PREFIX = "/testkontrol"  # a debtor's test control (oir-testkontrol-v1), beside its contract


def generated_openapi(app: FastAPI, *, control_plane: bool = False, test_control: bool = False) -> dict[str, Any]:
    """The OpenAPI document FastAPI derives from the code, for comparison with the contract file: the
    control plane's paths, the test-control paths, or (neither asked) the simulator's own contract's."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    document["paths"] = {
        path: item
        for path, item in document.get("paths", {}).items()
        if path.startswith("/_sim") == control_plane and path.startswith(TEST_CONTROL_PREFIX) == test_control
    }
    # FastAPI documents a 422 "Validation Error" on every operation with parameters; our kernel answers
    # schema violations with 400 problem+json instead, so that entry describes nothing we send.
    for item in document.get("paths", {}).values():
        for operation in item.values():
            response = operation.get("responses", {}).get("422", {})
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    return document
