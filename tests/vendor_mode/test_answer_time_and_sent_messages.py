"""Answer time and the vendor's own messages, judged on a vendor's system (the debtor simulator wrapped
as a real system behind a URL, as `oir certify --debtor-url` meets it).

The profile is KMD Opus with its answer-time limit made small (`LIMIT_S`) so the suite stays fast:
- a system that answers B_02 queries slowly but within the limit is CERTIFIED, and the certificate and
  results.json carry per-operation p50/p95/max in which the slowness shows;
- one that answers one query beyond the limit (but before the harness stops waiting) fails the
  answer-time requirement and nothing else;
- one that reports the same payment twice under two message ids, which no check awaits, is NOT
  certified, with B01R-EXACTLY-ONCE failed and the two messages named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.types import ASGIApp

from contracts.profile import load_profile
from harness.certification import Target, certify_profile
from harness.certification.latency import REQUIREMENT
from harness.certification.report import write_report
from harness.servers import ServerThread
from tests.support.misbehaving import AsARealSystem, DuplicateCallback, Slow, free_port, vendor_debtor

# One worker builds the module's expensive fixtures (scoped to the module) once for all its tests;
# with --dist loadgroup spread over two workers, each would compute them again.
pytestmark = pytest.mark.xdist_group("slow-but-conforming")

LIMIT_S = 4  # the profile's answer-time limit in these runs (KMD Opus: 300 s); the harness waits twice that
QUERY = "POST /debitorforespoergsel"
CALLBACK_TOKEN = "vendor-callback-secret"


def _certify(tmp_path: Path, wrap: Any, *, scenarios: bool = False) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Certify the wrapped vendor system against KMD Opus with the small limit; results.json, the
    certificate and index.html."""
    psrm_port, callback_port = free_port(), free_port()
    inner = vendor_debtor("kmd-opus", psrm_port=psrm_port, callback_port=callback_port, callback_token=CALLBACK_TOKEN)
    app: ASGIApp = AsARealSystem(wrap(inner, f"http://127.0.0.1:{callback_port}"))
    profile = load_profile("kmd-opus").model_copy(update={"answer_time_limit_s": LIMIT_S})
    folder = tmp_path / "kmd-opus"
    with ServerThread(app, name="vendor", log_level="critical") as debtor:
        result = certify_profile(
            "kmd-opus",
            folder,
            seed=3,
            max_examples=2,
            callback_timeout=10,
            target=Target(
                debtor_url=debtor.url, callback_token=CALLBACK_TOKEN, callback_port=callback_port, psrm_port=psrm_port
            ),
            profile=profile,
            scenarios=scenarios,
        )
    write_report(result, folder, key=Ed25519PrivateKey.generate())
    results = json.loads((folder / "results.json").read_text())
    certificate = json.loads((folder / "certificate.json").read_text())["certificate"]
    return results, certificate, (folder / "index.html").read_text()


def _query(latency: dict[str, Any]) -> dict[str, Any]:
    return next(o for o in latency["operations"] if o["operation"] == QUERY)


@pytest.fixture(scope="module")
def slow_but_conforming(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    yield _certify(
        tmp_path_factory.mktemp("slow"),
        lambda app, _: Slow(app, 0.3, method="POST", path="/debitorforespoergsel"),
        scenarios=True,
    )


def test_a_slow_system_within_the_limit_is_certified(slow_but_conforming: tuple[dict[str, Any], ...]) -> None:
    results, certificate, _ = slow_but_conforming
    assert results["verdict"] == "CERTIFIED", results["requirements"]["failed"]
    assert REQUIREMENT in results["requirements"]["passed"] and results["latency"]["status"] == "passed"
    assert certificate["verdict"] == "CERTIFIED" and REQUIREMENT in certificate["requirements"]["passed"]


def test_the_latency_figures_are_in_results_the_certificate_and_the_report(
    slow_but_conforming: tuple[dict[str, Any], ...],
) -> None:
    results, certificate, page = slow_but_conforming
    latency = results["latency"]
    assert latency["limit_s"] == LIMIT_S and latency["patience_s"] == 2 * LIMIT_S
    # every kind of call was timed: the fuzzing, the probes, the pacts and the scenarios' engine and actions
    assert {"schemathesis", "probes", "pact", "scenarios"} <= set(latency["sources"])
    query = _query(latency)
    assert query["calls"] >= 3 and query["over_limit"] == 0
    assert query["p50_s"] >= 0.3 and query["max_s"] >= query["p95_s"] >= query["p50_s"]  # the delay shows
    assert certificate["latency"]["limitS"] == LIMIT_S
    assert _query(certificate["latency"]) == {
        k: query[k] for k in ("operation", "calls", "p50_s", "p95_s", "max_s", "over_limit")
    }
    assert f'data-operation="{QUERY}"' in page and 'data-check="answer-time" data-status="passed"' in page


def test_an_answer_beyond_the_limit_fails_only_the_answer_time_requirement(tmp_path: Path) -> None:
    # the first B_02 query (the fuzzer's) is answered a second after the limit, before the harness gives up
    results, certificate, page = _certify(
        tmp_path, lambda app, _: Slow(app, LIMIT_S + 1, method="POST", path="/debitorforespoergsel", calls=1)
    )
    assert results["verdict"] == "NOT_CERTIFIED"
    assert results["requirements"]["failed"] == [REQUIREMENT]
    assert [name for name, status in _statuses(results).items() if status == "failed"] == ["answer-time"]
    assert _query(results["latency"])["over_limit"] == 1
    assert any(line.startswith(f"{QUERY} (schemathesis): answered in") for line in results["latency"]["evidence"])
    assert certificate["requirements"]["failed"] == [REQUIREMENT] and _query(certificate["latency"])["over_limit"] == 1
    assert 'data-check="answer-time" data-status="failed"' in page


def test_a_duplicate_callback_no_check_awaited_fails_exactly_once(tmp_path: Path) -> None:
    results, certificate, page = _certify(
        tmp_path, lambda app, callback_url: DuplicateCallback(app, callback_url, CALLBACK_TOKEN)
    )
    assert results["verdict"] == "NOT_CERTIFIED"
    assert results["requirements"]["failed"] == ["B01R-EXACTLY-ONCE"]
    assert [name for name, status in _statuses(results).items() if status == "failed"] == ["sent-messages"]
    sent = results["sentMessages"]
    (violation,) = sent["violations"]
    assert violation["requirement"] == "B01R-EXACTLY-ONCE" and len(violation["messages"]) == 2
    assert "DAEKNING 12000 øre on CERT-" in violation["detail"]
    assert certificate["verdict"] == "NOT_CERTIFIED" and certificate["requirements"]["failed"] == ["B01R-EXACTLY-ONCE"]
    assert 'data-requirement="B01R-EXACTLY-ONCE"' in page and violation["messages"][1] in page


def _statuses(results: dict[str, Any]) -> dict[str, str]:
    found = {"schemathesis": results["fuzz"]["status"]}
    found |= {p["name"]: p["status"] for p in results["probes"]}
    found |= {i["check"]: i["status"] for i in results["pact"]["interactions"]}
    found |= {s["check"]: s["status"] for s in (results.get("scenarios") or {}).get("runs", [])}
    found[results["latency"]["check"]] = results["latency"]["status"]
    found[results["sentMessages"]["check"]] = results["sentMessages"]["status"]
    return found
