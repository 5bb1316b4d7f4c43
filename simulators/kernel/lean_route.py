"""A FastAPI route that answers a well-formed call without FastAPI's generic parameter solving.

Why: FastAPI solves every request's parameters generically, re-reading each parameter's declaration
on every call (aliases, whether it is a sequence or a model, cache keys, what kind of callable each
dependency is). For the debtor's OpretDebitorkonto, the operation the engine sends once per claim,
that was 76 of its 184 µs in-process; the benchmark against a bare endpoint (`bench.debtor_registration`)
is mostly that difference.

`LeanRoute` keeps FastAPI's declaration of the route, so the generated OpenAPI is unchanged
(`tests/contract/test_drift.py`), and FastAPI's own handler for every request the lean path does not
take. At build time it makes a plan when the route has a shape it can answer exactly as FastAPI
would: an async endpoint that returns the `Response` it built, whose parameters are path parameters,
one JSON body and async dependencies (nested, each called once) that take only the request, required
header parameters and their own dependencies. Other routes get FastAPI's handler.

A request the plan takes is validated first, with the very validators FastAPI would use (the route's
own `ModelField`s), and nothing runs before that: when a header is missing or malformed, the body is
not JSON or does not validate, or the route's provider of dependency overrides has some (an app's own
overrides do not reach routes served flat: contracts/prebuilt_routes.py), the request goes to FastAPI's
handler, which answers as before (the same problem, its checks in its order; a dependency's side
effect, such as a fault rule taken, happens once). Only a request FastAPI would accept takes the lean
path, which then calls the dependencies in FastAPI's order (depth first, in declaration order) and the
endpoint with the same values. It skips FastAPI's native telemetry spans for the request. An endpoint
that promised a `Response` and returned something else is a bug said as such (a `TypeError`), where FastAPI
would have serialised it.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi import routing as fastapi_routing
from fastapi._body_limit import get_body_limit_error  # FastAPI's own conversion of a failed body read
from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_validation_alias
from fastapi.routing import APIRoute
from pydantic import AliasChoices, AliasPath, BaseModel, Json
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_JSON = "application/json"


class _NotLean(Exception):
    """This request is not one the plan answers: FastAPI's handler does."""


def _async_callable(call: Any) -> bool:
    if inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call):
        return False
    if inspect.iscoroutinefunction(call):
        return True
    # a dependency object, e.g. HTTPBearer: its class's __call__ is the coroutine function
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(
        inspect.getattr_static(type(call), "__call__", None)
    )


def _plain(field: Any) -> bool:
    """A header or path parameter the plan reads by one name and checks with its own validator:
    required, one value (not a sequence, mapping or model), no alias choices, not JSON-in-a-string."""
    info = field.field_info
    origin = typing.get_origin(info.annotation)
    annotation = origin or info.annotation
    return (
        origin not in (typing.Union, types.UnionType)  # FastAPI may read a union as a list or a model
        and not field_annotation_is_sequence(info.annotation)  # FastAPI's own test for reading a list
        and not (isinstance(annotation, type) and issubclass(annotation, (dict, BaseModel)))
        and info.is_required()
        and not isinstance(info.validation_alias, (AliasChoices, AliasPath))  # one name in the request
        and not getattr(field, "config", None)  # no populate-by-name: FastAPI would look for a second name
        and not any(type(item) is Json for item in info.metadata)
    )


def _json_body(field: Any) -> bool:
    """A required body parameter FastAPI reads as JSON (not a form, not a file)."""
    info = field.field_info
    return isinstance(info, params.Body) and not isinstance(info, params.Form) and info.is_required()


def _dependency_ok(dependant: Dependant, seen: set[int]) -> bool:
    if dependant.call is None or id(dependant.call) in seen or not _async_callable(dependant.call):
        return False
    if getattr(dependant, "concurrency", None) is not None:  # FastAPI would hold a semaphore around it
        return False
    seen.add(id(dependant.call))
    if (
        dependant.path_params
        or dependant.query_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    ):
        return False
    return all(_plain(f) for f in dependant.header_params) and all(
        d.name is not None and _dependency_ok(d, seen) for d in dependant.dependencies
    )


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(call).get("return")
    except Exception:  # an annotation that does not resolve: not ours to judge
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


class LeanPlan:
    """How one route answers a well-formed request: what to validate, then what to call."""

    def __init__(self, route: Any) -> None:
        dependant: Dependant = route.dependant
        self.route = route
        self.dependant = dependant
        self.body_field = dependant.body_params[0] if dependant.body_params else None
        self.path_fields = [(f, get_validation_alias(f)) for f in dependant.path_params]
        # each dependant's header parameters with the name each is read by, worked out once
        self.header_fields: dict[int, list[tuple[Any, str]]] = {}
        pending = [dependant]
        while pending:
            current = pending.pop()
            self.header_fields[id(current)] = [(f, get_validation_alias(f)) for f in current.header_params]
            pending += current.dependencies

    @classmethod
    def of(cls, route: Any) -> LeanPlan | None:
        """The plan for `route` (an `APIRoute` or FastAPI's effective route of an included one), or None
        when the route is not of a shape the plan answers exactly as FastAPI would."""
        dependant: Dependant | None = getattr(route, "dependant", None)
        if dependant is None or dependant.call is None:
            return None
        call = dependant.call
        if not inspect.iscoroutinefunction(call) or not _returns_response(call):
            return None
        if getattr(dependant, "concurrency", None) is not None:
            return None
        if (
            dependant.query_params
            or dependant.cookie_params
            or dependant.header_params
            or dependant.websocket_param_name
            or dependant.http_connection_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or len(dependant.body_params) > 1
            or getattr(route, "_embed_body_fields", True)
        ):
            return None
        if dependant.body_params and not _json_body(dependant.body_params[0]):
            return None
        if not all(_plain(f) for f in dependant.path_params):
            return None
        seen = {id(call)}
        if not all(d.name is not None and _dependency_ok(d, seen) for d in dependant.dependencies):
            return None
        return cls(route)

    async def answer(self, request: Request) -> Response:
        """Read the body as FastAPI does, validate everything, then call; raises `_NotLean` before
        anything ran when a value does not validate."""
        parsed = await self._json_body(request) if self.body_field is not None else None
        values = self._validated(request, self.dependant, top=True)
        if self.body_field is not None:
            value, errors = self.body_field.validate(parsed, {}, loc=("body",))
            if errors:
                raise _NotLean
            values[self.body_field.name] = value
        answer = await self._call(request, self.dependant, values)
        if not isinstance(answer, Response):  # its annotation promised one: a bug of the endpoint, said as such
            raise TypeError(f"{self.dependant.call!r} is declared to return a Response and returned {type(answer)}")
        return answer

    def _validated(self, request: Request, dependant: Dependant, *, top: bool = False) -> dict[str, Any]:
        values: dict[str, Any] = {}
        fields = [(f, alias, request.headers.get(alias), "header") for f, alias in self.header_fields[id(dependant)]]
        if top:
            fields += [(f, alias, request.path_params.get(alias), "path") for f, alias in self.path_fields]
        for field, alias, raw, where in fields:
            if raw is None:
                raise _NotLean
            value, errors = field.validate(raw, values, loc=(where, alias))
            if errors:
                raise _NotLean
            values[field.name] = value
        for sub in dependant.dependencies:
            values[f"\0{id(sub)}"] = self._validated(request, sub)
        return values

    @staticmethod
    async def _json_body(request: Request) -> Any:
        try:
            raw = await request.body()
        except HTTPException:
            raise
        except Exception as exc:  # as FastAPI's handler turns a failed read into an answer
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := get_body_limit_error(exc)):
                raise error from exc
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
        media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if not raw or media_type != _JSON:
            raise _NotLean
        try:
            return json.loads(raw)
        except Exception:  # not JSON, not UTF-8, nested too deep (RecursionError): FastAPI's handler says so
            raise _NotLean from None

    async def _call(self, request: Request, dependant: Dependant, values: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for sub in dependant.dependencies:  # FastAPI's order: a dependency's dependencies first
            assert sub.name is not None
            kwargs[sub.name] = await self._call(request, sub, values.pop(f"\0{id(sub)}"))
        kwargs.update(values)
        if dependant.http_connection_param_name:
            kwargs[dependant.http_connection_param_name] = request
        if dependant.request_param_name:
            kwargs[dependant.request_param_name] = request
        assert dependant.call is not None
        return await dependant.call(**kwargs)


def _effective(route: APIRoute) -> Any:
    """The route FastAPI builds the handler of: for a route of an included router, the route with the
    inclusion's dependencies and settings (FastAPI 0.165 passes it in a context variable), else itself.
    None when this FastAPI does not say, so the plan is not made."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    if context_var is None:
        return None
    effective = context_var.get()
    return effective if effective is not None and effective.original_route is route else route


def lean_plan(route: APIRoute) -> LeanPlan | None:
    """The lean plan of `route` as FastAPI is about to build it, or None (FastAPI's handler only)."""
    effective = _effective(route)
    return LeanPlan.of(effective) if effective is not None else None


class LeanRoute(APIRoute):
    """An `APIRoute` that answers a well-formed call by its plan and every other by FastAPI's handler."""

    def get_route_handler(self) -> Handler:
        full = super().get_route_handler()
        plan = lean_plan(self)
        if plan is None:
            return full
        overrides_provider = getattr(plan.route, "dependency_overrides_provider", None)

        async def handler(request: Request) -> Response:
            if overrides_provider is not None and getattr(overrides_provider, "dependency_overrides", None):
                return await full(request)
            try:
                return await plan.answer(request)
            except _NotLean:
                return await full(request)

        return handler
