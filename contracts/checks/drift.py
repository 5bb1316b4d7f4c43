"""Drift between a hand-written contract and what an implementation documents about itself.

The contract file is the source of truth; an app that grows an operation, a parameter or a status
code the contract does not list (or loses one it does) has drifted, and the test suite says exactly
where. Compared per operation: parameters (where, name, required), request body, response statuses
and whether the operation demands authentication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class OperationShape:
    method: str
    path: str
    operation_id: str | None
    parameters: frozenset[tuple[str, str, bool]]
    body: tuple[bool, bool] | None  # (required, present) or None for no body
    statuses: frozenset[str]
    secured: bool


def _resolve(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("$ref")
    if not ref:
        return item
    node: Any = document
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def operation_shapes(document: dict[str, Any]) -> dict[tuple[str, str], OperationShape]:
    shapes: dict[tuple[str, str], OperationShape] = {}
    default_security = bool(document.get("security"))
    for path, item in (document.get("paths") or {}).items():
        shared = [_resolve(document, p) for p in item.get("parameters", [])]
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            params = shared + [_resolve(document, p) for p in operation.get("parameters", [])]
            parameters = frozenset(
                (p["in"], p["name"].lower() if p["in"] == "header" else p["name"], bool(p.get("required", False)))
                for p in params
            )
            body = None
            if "requestBody" in operation:
                request_body = _resolve(document, operation["requestBody"])
                body = (bool(request_body.get("required", False)), True)
            security = operation.get("security")
            secured = default_security if security is None else any(bool(s) for s in security)
            shapes[(method.upper(), path)] = OperationShape(
                method=method.upper(),
                path=path,
                operation_id=operation.get("operationId"),
                parameters=parameters,
                body=body,
                statuses=frozenset(str(code) for code in operation.get("responses", {})),
                secured=secured,
            )
    return shapes


def compare_openapi(contract: dict[str, Any], implementation: dict[str, Any]) -> list[str]:
    """Every difference between the contract and the implementation, as readable sentences."""
    wanted = operation_shapes(contract)
    actual = operation_shapes(implementation)
    problems: list[str] = []
    for key in sorted(set(actual) - set(wanted)):
        problems.append(f"{key[0]} {key[1]}: implemented but not in the contract")
    for key in sorted(set(wanted) - set(actual)):
        problems.append(f"{key[0]} {key[1]}: in the contract but not implemented")
    for key in sorted(set(wanted) & set(actual)):
        problems.extend(_compare_operation(wanted[key], actual[key]))
    return problems


def _compare_operation(wanted: OperationShape, actual: OperationShape) -> list[str]:
    where = f"{wanted.method} {wanted.path}"
    problems = []
    if wanted.operation_id != actual.operation_id:
        problems.append(f"{where}: operationId {actual.operation_id!r} in code, {wanted.operation_id!r} in contract")
    for extra in sorted(actual.parameters - wanted.parameters):
        problems.append(f"{where}: parameter {extra} in code differs from or is missing in the contract")
    for missing in sorted(wanted.parameters - actual.parameters):
        problems.append(f"{where}: parameter {missing} in the contract differs from or is missing in code")
    if wanted.body != actual.body:
        problems.append(f"{where}: request body {actual.body} in code, {wanted.body} in contract")
    for status in sorted(actual.statuses - wanted.statuses):
        problems.append(f"{where}: status {status} answered by code but undocumented in the contract")
    for status in sorted(wanted.statuses - actual.statuses):
        problems.append(f"{where}: status {status} documented in the contract but not declared by code")
    if wanted.secured != actual.secured:
        problems.append(
            f"{where}: authentication {'required' if actual.secured else 'absent'} in code, "
            f"{'required' if wanted.secured else 'absent'} in contract"
        )
    return problems
