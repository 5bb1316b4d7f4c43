"""Bearer-token authentication and the principal behind a token.

A token may be bound to a set of municipality CVRs: a fagsystem holding Aarhus's credentials cannot
act for Odense. The development token is documented in the README and only meant for local runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.problems import Problem

DEV_TOKEN = "oir-dev-token"


@dataclass(frozen=True)
class Principal:
    name: str
    municipalities: frozenset[str] | None = None  # None: may act for every municipality

    def may_act_for(self, cvr: str) -> bool:
        return self.municipalities is None or cvr in self.municipalities


def default_tokens() -> dict[str, Principal]:
    return {DEV_TOKEN: Principal("dev")}


_bearer = HTTPBearer(auto_error=False, description="Bearer token issued to the calling system")


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "OIR-401-UNAUTHENTICATED",
        "Missing or invalid bearer token",
        detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("send Authorization: Bearer <token>")
    tokens: dict[str, Principal] = request.app.state.sim.tokens
    principal = tokens.get(credentials.credentials)
    if principal is None:
        raise _unauthorized("the token is not known to this system")
    return principal


bearer_scheme = _bearer
