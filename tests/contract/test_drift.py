"""Each simulator app documents exactly what its hand-written contract file says, and vice versa."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator import validate

from contracts.checks import compare_openapi
from contracts.profile import PROFILE_NAMES
from contracts.specs import CONTRACT_NAMES, load_spec
from simulators.kernel import generated_openapi
from tests.support.apps import APP_CASES, build


@pytest.mark.parametrize("contract", CONTRACT_NAMES)
def test_contract_file_is_valid_openapi_31(contract: str) -> None:
    spec = load_spec(contract)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


@pytest.mark.parametrize(("name", "kwargs", "contract"), [c[1:] for c in APP_CASES], ids=[c[0] for c in APP_CASES])
def test_app_matches_its_contract(name: str, kwargs: dict, contract: str) -> None:
    app = build(name, **kwargs)
    assert compare_openapi(load_spec(contract), generated_openapi(app)) == []


@pytest.mark.parametrize(("name", "kwargs"), [c[1:3] for c in APP_CASES], ids=[c[0] for c in APP_CASES])
def test_control_plane_matches_its_contract(name: str, kwargs: dict) -> None:
    app = build(name, **kwargs)
    assert compare_openapi(load_spec("sim-control"), generated_openapi(app, control_plane=True)) == []


def test_drift_is_reported_operation_by_operation() -> None:
    app = build("debtor", profile="kmd-opus")
    contract = load_spec("oir-debitor-v3")
    drifted = copy.deepcopy(contract)
    del drifted["paths"]["/debitorkonti"]["post"]["responses"]["422"]
    drifted["paths"]["/debitorkonti/{debitorkontoId}"]["get"]["parameters"] = []
    drifted["paths"]["/ghost"] = {"get": {"operationId": "ghost", "responses": {"200": {"description": "x"}}}}
    problems = compare_openapi(drifted, generated_openapi(app))
    assert "POST /debitorkonti: status 422 answered by code but undocumented in the contract" in problems
    assert "GET /ghost: in the contract but not implemented" in problems
    assert any(p.startswith("GET /debitorkonti/{debitorkontoId}: parameter") for p in problems)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_debtor_test_control_matches_its_contract(profile: str) -> None:
    """Every debtor profile offers test control (oir-testkontrol-v1) beside its contract, exactly as written;
    the oir-debitor-v3 comparison above leaves its paths out."""
    app = build("debtor", profile=profile)
    assert compare_openapi(load_spec("oir-testkontrol-v1"), generated_openapi(app, test_control=True)) == []
    assert not [p for p in load_spec("oir-debitor-v3")["paths"] if p.startswith("/testkontrol")]
