"""An app's routes built before any server thread serves them: its routers' routes served flat, built at import.

FastAPI (0.165) builds the routes of an included router lazily: on the first request that reaches
the router, in whatever thread serves it. Building a route makes a pydantic validator for each of its
parameters, and FastAPI does that inside `warnings.catch_warnings()` to hide pydantic's
`UnsupportedFieldAttributeWarning` about the header aliases (`X-Kommune-Cvr`, ...). That context
manager swaps the process's one list of warning filters and is not thread-safe: when two servers in
two threads of one process (a scenario world, a certification, the HTTP-level tests) build routes at
the same moment, one thread restores the filters while the other is still inside, and the warning
leaks — or a filter set meanwhile is lost. The suite saw it as an intermittent warning.

The simulators and the engine API therefore serve their routers' routes flat (`serve_routes`): the
routes were built with their routers, when their modules were imported, and an app that serves them
builds nothing. Any route still built lazily (an included router) is built when the app is made
(`build_routes_now`), with FastAPI's own iterator over an app's effective routes.

Why flat, and not `app.include_router`: FastAPI 0.165 includes a router as a nested router. A request
is matched against the nested router's routes twice (once to choose the router, once inside it), and
every app builds its own copy of every included route (dependant, parameter validators). Measured: a
simulated debtor app took 24 ms to make (FBS 34 ms, PSRM 22 ms), served flat 4 ms (2 and 5 ms); the
debtor's OpretDebitorkonto 117 µs in-process, flat 109 µs. And a 405's `Allow` header, made from the
app's own routes (contracts/problems.py), was empty for every nested route. What an inclusion could add
to its routes — a prefix, dependencies or tags of the inclusion, and `app.dependency_overrides` — is not
used by these apps, and does not reach routes served flat: a router's own prefix, tags and dependencies
do (they are part of each route it built).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts


def build_routes_now(app: FastAPI) -> FastAPI:
    """Build every route of `app` (its included routers' too) now, in this thread; returns `app`."""
    for _ in iter_route_contexts(app.router.routes):
        pass
    return app


def serve_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Serve each router's routes from `app`'s own router, in order (see the module: not nested)."""
    for router in routers:
        app.router.routes.extend(router.routes)
