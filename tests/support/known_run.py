"""A certification run with every kind of trouble, built from known parts (no system runs): two probes
that failed with their requests recorded, a scenario that failed at a step, and a probe whose own code
broke (a harness error). For the tests of what reports and the console show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.checks.fuzz import FuzzResult
from contracts.profile import profile_capabilities, profile_path
from contracts.requirements import not_applicable
from harness.certification.coverage import uncited_reasons
from harness.certification.judge import Judgement, judge
from harness.certification.pacts import PactPart
from harness.certification.probes import ProbeResult
from harness.certification.run import CertificationResult, check_outcomes
from harness.certification.scenarios import ScenarioCheck, ScenarioRun

SECRET = "vendor-secret-token-5be1"
CPR = "2001520261"  # synthetic, valid in form: must never be shown unmasked


def _exchange(method: str, url: str, body: Any, status: int, answer: Any, system: str = "debtor") -> dict[str, Any]:
    return {
        "system": system,
        "method": method,
        "url": url,
        "request_headers": {
            "host": "eg-test.example",
            "authorization": f"Bearer {SECRET}",
            "x-transaktion-id": "7d0c4a8e-0000-4000-8000-000000000001",
            "x-kommune-cvr": "29189854",
            "content-type": "application/json",
        },
        "request_body": body,
        "status": status,
        "response_headers": {"content-type": "application/problem+json"},
        "response_body": answer,
        "seconds": 0.01,
        "started": "2026-12-01T09:00:00+01:00",
    }


LOOKUP = _exchange(
    "GET",
    "https://eg-test.example/oir/debitorkonti/K-CERT-1",
    None,
    422,
    {"code": "OIR-422-WRONG-MUNICIPALITY", "title": "Not your account", "status": 422},
)
REGISTRATION = _exchange(
    "POST",
    "https://eg-test.example/oir/debitorkonti",
    {"debitorkontoId": "K-CERT-2", "haeftelse": {"cpr": CPR, "navn": "Certificering Testborger"}, "note": None},
    500,
    {"error": "internal"},
)


def failing_run() -> CertificationResult:
    """KMD Opus's system with three failures (two probes, a scenario) and a harness error."""
    fuzz = FuzzResult(passed=True, exit_code=0, summary="all checks passed")
    probes = [
        ProbeResult("registration", ["B01-CREATE-ACCOUNT", "B02-LOOKUP"], True, "registered"),
        ProbeResult(
            "own-accounts-only",
            ["B01-OWN-ACCOUNTS-ONLY"],
            False,
            "Kommune B (CVR 29189854) asked for Kommune A's account and was answered 422 (OIR-422-WRONG-MUNICIPALITY)",
            ["GET /debitorkonti/K-CERT-1 -> 422 {}"],
            exchanges=[LOOKUP],
        ),
        ProbeResult(
            "bad-input",
            ["MSG-PROBLEM-JSON"],
            False,
            "invalid CPR: answered 500, expected 4xx",
            [f'POST /debitorkonti {{"cpr": "{CPR}"}} -> 500'],
            exchanges=[REGISTRATION],
        ),
        ProbeResult(
            "payment-callback",
            ["B01R-PAYMENT", "B03-PAY"],
            False,
            "harness error at harness/certification/probes.py:231 in probe_payment_reaches_fagsystem: "
            "KeyError: 'delfordringer' — the harness's own code broke; this is no verdict on the debtor system",
            error=True,
        ),
    ]
    pact = PactPart("oir-debitor-v3", ["oir-engine"], {}, 0.1, [])
    scenarios = ScenarioCheck(
        runs=[
            ScenarioRun(
                "annulment-closes-the-account",
                "Annulment",
                ["B01-ANNUL", "B01R-ACCOUNT-CLOSED"],
                False,
                "failed",
                "kontoLukket: expected True, saw False after 20 s\n"
                "no callback reached http://127.0.0.1:8701/daekningafskrivning during this scenario",
                "scenarios/suites/annulment-closes-the-account.scenario.yaml",
                17,
                blamed=["B01R-ACCOUNT-CLOSED"],
                step="line 17: expect fbs.claim",
                seen={"kontoLukket": False},
                request=_exchange("GET", "http://127.0.0.1:9100/krav/F-1", None, 200, {"kontoLukket": False}, "fbs"),
            )
        ]
    )
    absent = not_applicable(profile_capabilities("kmd-opus"))
    checks = check_outcomes(fuzz, probes, pact, scenarios)
    judgement = judge(
        checks,
        (),
        date(2026, 12, 1),
        not_applicable=absent,
        uncited=uncited_reasons("kmd-opus", checks, scenarios_ran=True, absent=absent),
    )
    return vendor_result("kmd-opus", "KMD Opus", fuzz, probes, pact, scenarios, judgement)


def vendor_result(
    profile: str,
    product: str,
    fuzz: FuzzResult,
    probes: list[ProbeResult],
    pact: PactPart,
    scenarios: ScenarioCheck | None,
    judgement: Judgement,
) -> CertificationResult:
    """A run against a vendor's system (https://eg-test.example/oir) on 2026-12-01 made of these parts."""
    return CertificationResult(
        profile=profile,
        product=product,
        target="https://eg-test.example/oir",
        seed=1,
        contract_digest="sha256:0",
        started=datetime(2026, 12, 1, 9, 0, tzinfo=UTC).isoformat(),
        seconds=1.0,
        fuzz=fuzz,
        probes=probes,
        debtor_url="https://eg-test.example/oir",
        simulated=False,
        judgement=judgement,
        profile_file=profile_path(profile),
        pact=pact,
        scenarios=scenarios,
    )
