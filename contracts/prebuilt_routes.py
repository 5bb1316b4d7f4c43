"""Build a FastAPI app's routes in the thread that made the app, before any server thread serves it.

FastAPI (0.165) builds the routes of an included router lazily: on the first request that reaches
the router, in whatever thread serves it. Building a route makes a pydantic validator for each of its
parameters, and FastAPI does that inside `warnings.catch_warnings()` to hide pydantic's
`UnsupportedFieldAttributeWarning` about the header aliases (`X-Kommune-Cvr`, ...). That context
manager swaps the process's one list of warning filters and is not thread-safe: when two servers in
two threads of one process (a scenario world, a certification, the HTTP-level tests) build routes at
the same moment, one thread restores the filters while the other is still inside, and the warning
leaks — or a filter set meanwhile is lost. The suite saw it as an intermittent warning.

The simulators and the engine API therefore have every route built when the app is made, with
FastAPI's own iterator over an app's effective routes. The work is the same the first request would
have done, once per app; the first request no longer pays it.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts


def build_routes_now(app: FastAPI) -> FastAPI:
    """Build every route of `app` (its included routers' too) now, in this thread; returns `app`."""
    for _ in iter_route_contexts(app.router.routes):
        pass
    return app
