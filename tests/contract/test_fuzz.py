"""Schemathesis against every simulator, in-process, with the contract file each one serves.

All checks, positive and negative data (see schemathesis.toml), the examples, coverage and fuzzing
phases per operation, and the stateful phase that follows the contracts' links. The payment
solution is fuzzed with a real (in-process) KMD Opus debtor behind it, so its happy path is reached.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.support.apps import build

CONFIG = SchemathesisConfig.from_path(Path(__file__).resolve().parents[2] / "schemathesis.toml")
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
STATEFUL = settings(
    max_examples=15, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

pytestmark = pytest.mark.fuzz


def _schema(name: str, path: str = "/openapi.json", **kwargs: object) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi(path, build(name, **kwargs), config=CONFIG)


def _payment_app():
    debtor = build("debtor", profile="kmd-opus")
    return build(
        "payment",
        transports={"http://debtor-opus": httpx.ASGITransport(app=debtor)},
        debtor_url_kmd_opus="http://debtor-opus",
    )


@pytest.fixture(scope="module")
def fbs_schema():
    return _schema("fbs")


@pytest.fixture(scope="module")
def psrm_schema():
    return _schema("psrm")


@pytest.fixture(scope="module")
def payment_schema():
    return schemathesis.openapi.from_asgi("/openapi.json", _payment_app(), config=CONFIG)


@pytest.fixture(scope="module")
def debtor_opus_schema():
    return _schema("debtor", profile="kmd-opus")


@pytest.fixture(scope="module")
def debtor_eg_schema():
    return _schema("debtor", profile="eg", serve_all_municipalities=True)


@pytest.fixture(scope="module")
def test_control_schema():
    """The debtor's test control (oir-testkontrol-v1), as a vendor's test system would serve it."""
    return _schema("debtor", "/testkontrol/openapi.json", profile="prisme-2009")


@pytest.fixture(scope="module")
def control_schema():
    return _schema("debtor", "/_sim/openapi.json", profile="prisme-2009")


def _check(case: schemathesis.Case) -> None:
    case.call_and_validate()


test_fbs_conforms = FUZZ(schemathesis.pytest.from_fixture("fbs_schema").parametrize()(_check))
test_psrm_conforms = FUZZ(schemathesis.pytest.from_fixture("psrm_schema").parametrize()(_check))
test_payment_conforms = FUZZ(schemathesis.pytest.from_fixture("payment_schema").parametrize()(_check))
test_debtor_opus_conforms = FUZZ(schemathesis.pytest.from_fixture("debtor_opus_schema").parametrize()(_check))
test_debtor_eg_conforms = FUZZ(schemathesis.pytest.from_fixture("debtor_eg_schema").parametrize()(_check))
test_debtor_test_control_conforms = FUZZ(schemathesis.pytest.from_fixture("test_control_schema").parametrize()(_check))
test_control_plane_conforms = FUZZ(schemathesis.pytest.from_fixture("control_schema").parametrize()(_check))


# The control plane and the payment solution have no path parameters, so no links to follow; their
# operations are fuzzed above.
@pytest.mark.parametrize("fixture", ["fbs_schema", "psrm_schema", "debtor_opus_schema"])
def test_stateful_links(fixture: str, request: pytest.FixtureRequest) -> None:
    schema = request.getfixturevalue(fixture)
    schema.as_state_machine().run(settings=STATEFUL)
