"""RFC 9457 problem+json errors with stable machine codes, and the handlers that guarantee them.

A wire convention of every interface (simulators and the engine alike): every server answers bad
input with a 4xx problem body carrying a `code` such as `OIR-400-VALIDATION` or
`OIR-422-SRB-NOT-PASSED`; a server error is a defect, never an answer to bad input. Business
rejections are raised as `Problem` and rendered here.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemDetail(BaseModel):
    """The body of every error answer."""

    type: str = Field(default="about:blank")
    title: str
    status: int
    code: str = Field(description="Stable machine-readable error code, e.g. OIR-422-SRB-NOT-PASSED")
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per-field validation errors")


class Problem(Exception):
    """A business or protocol rejection that becomes a problem+json answer."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        model = ProblemDetail(
            type=f"urn:oir:problem:{self.code}",
            title=self.title,
            status=self.status,
            code=self.code,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )
        return model.model_dump(exclude_none=True)


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers
    )


_STATUS_CODES = {
    404: ("OIR-404-NOT-FOUND", "Not found"),
    405: ("OIR-405-METHOD-NOT-ALLOWED", "Method not allowed"),
    406: ("OIR-406-NOT-ACCEPTABLE", "Not acceptable"),
    413: ("OIR-413-TOO-LARGE", "Request body too large"),
    415: ("OIR-415-UNSUPPORTED-MEDIA-TYPE", "Unsupported media type"),
}


def _jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        errors.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return errors


def _validation_code(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """Classify a validation failure so clients can react without parsing prose."""
    for err in errors:
        loc = err["loc"]
        if err["type"] == "json_invalid":
            return "OIR-400-MALFORMED-JSON", "The request body is not valid JSON"
        if loc and loc[0] == "header":
            if loc[-1].lower() == "x-kommune-cvr" and err["type"] != "missing":
                return "OIR-400-UNKNOWN-MUNICIPALITY", "The municipality CVR is not one of the 98 municipalities"
            if loc[-1].lower().startswith("x-transaktion") or loc[-1].lower() == "x-kommune-cvr":
                return (
                    "OIR-400-HEADER-BLOCK",
                    "The header block (transaction id, time, municipality CVR) is missing or invalid",
                )
    first = errors[0] if errors else {"loc": [], "type": ""}
    if _loc_has(first, "cpr"):
        return "OIR-400-INVALID-CPR", "A CPR number is not of the form DDMMYYSSSS"
    if _loc_has(first, "cvr"):
        return "OIR-400-INVALID-CVR", "A CVR number is not 8 digits with a valid check digit"
    if _loc_has(first, "beloebOere"):
        return "OIR-400-INVALID-AMOUNT", "An amount must be a positive whole number of øre"
    return "OIR-400-VALIDATION", "The request does not match the contract"


def _loc_has(err: dict[str, Any], name: str) -> bool:
    return any(part.lower() == name.lower() for part in err["loc"])


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _jsonable_errors(exc)
    code, title = _validation_code(errors)
    return problem_response(
        Problem(400, code, title, detail=errors[0]["msg"] if errors else None, errors=errors), instance=request.url.path
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, instance=request.url.path)


def _allowed_methods(request: Request) -> set[str]:
    """All methods any route on this path accepts (Starlette only reports the first match's).

    It reads the app's own routes: a router included FastAPI's way (0.165: nested) has no methods of its
    own, so its routes are served flat (contracts/prebuilt_routes.py) and a 405 names them all."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        for method in getattr(route, "methods", None) or ():
            match, _ = route.matches({**request.scope, "method": method})
            if match == Match.FULL:
                methods.add(method)
    return methods


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _STATUS_CODES.get(exc.status_code, (f"OIR-{exc.status_code}-HTTP", "HTTP error"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return problem_response(
        Problem(exc.status_code, code, title, detail=detail, headers=headers), instance=request.url.path
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A defect, not an answer to bad input: keep it visible as a problem body with a stable code.
    return problem_response(
        Problem(500, "OIR-500-INTERNAL", "Internal simulator error", detail=type(exc).__name__),
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json answers for the given statuses."""
    described = {
        400: "Malformed request, or it does not match the contract",
        401: "Missing or invalid bearer token",
        403: "The caller may not act for this municipality or account",
        404: "No such resource",
        409: "Conflicts with the resource's state",
        422: "Well-formed, but rejected by a business rule",
        503: "Temporarily unavailable",
    }
    return {
        status: {
            "description": described.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
        for status in statuses
    }
