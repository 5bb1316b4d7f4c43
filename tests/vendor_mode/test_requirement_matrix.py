"""Every requirement a certificate can report as passed against a vendor is earned: a debtor system that
breaks it, placed behind a vendor-mode certification (the simulator wrapped as a vendor's real system),
is NOT certified, with that requirement among the failed ones and the matrix's check failed.

Each case is certified limited to the check the matrix says catches it (`only=`), which makes a case a
few seconds instead of a full certification; the same checks pass against a conforming system (so the
failure is the misbehaviour's), and a full conforming certification reports as passed exactly the
requirements the matrix covers — none it could not fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.certification.failures import failures
from harness.certification.judge import CERTIFIED, NOT_CERTIFIED
from harness.certification.run import CertificationResult, certify_profile
from harness.certification.target import Target
from tests.support.misbehaving import free_port
from tests.support.requirement_matrix import (
    CASES,
    NOT_RUN_AGAINST_A_VENDOR,
    PROVEN_ELSEWHERE,
    TEST_CONTROL_CASES,
    TEST_CONTROL_CHECK,
    VENDOR_FOREIGN_TOKEN,
    Case,
    misbehaving_system,
    not_verified,
    vendor_verifiable,
)


def _certify(
    case: Case | None, profile: str, out: Path, only: list[str], scenarios: bool, *, test_control: bool = False
) -> CertificationResult:
    psrm_port, callback_port = free_port(), free_port()
    with misbehaving_system(case, profile, psrm_port=psrm_port, callback_port=callback_port) as debtor:
        target = Target(
            debtor_url=debtor.url,
            psrm_port=psrm_port,
            callback_port=callback_port,
            foreign_token=VENDOR_FOREIGN_TOKEN,
            test_control=test_control,
        )
        return certify_profile(
            profile, out, seed=1, max_examples=2, callback_timeout=10, target=target, only=only, scenarios=scenarios
        )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_misbehaviour_fails_its_requirement_in_vendor_mode(case: Case, tmp_path: Path) -> None:
    result = _certify(case, case.profile, tmp_path, [case.check], case.check.startswith("scenario "))
    assert result.verdict == NOT_CERTIFIED, f"{case.misbehaviour}: certified"
    assert case.requirement in result.judgement.failed, (case.misbehaviour, result.judgement.failed)
    assert result.status(case.check) == "failed"
    assert not set(result.judgement.passed) & set(result.judgement.failed)


@pytest.mark.parametrize("profile", sorted({c.profile for c in CASES}))
def test_the_catching_checks_pass_against_a_conforming_system(profile: str, tmp_path: Path) -> None:
    checks = sorted({c.check for c in CASES if c.profile == profile})
    result = _certify(None, profile, tmp_path, checks, any(c.startswith("scenario ") for c in checks))
    failed = [c for c in checks if result.status(c) != "passed"]
    assert result.verdict == CERTIFIED and not failed, [(c, result.status(c)) for c in failed]
    assert {c.requirement for c in CASES if c.profile == profile} <= set(result.judgement.passed)


@pytest.mark.parametrize("case", TEST_CONTROL_CASES, ids=[c.id for c in TEST_CONTROL_CASES])
def test_a_misbehaving_test_control_fails_its_requirement_in_vendor_mode(case: Case, tmp_path: Path) -> None:
    """A vendor that declares test control whose test control misbehaves is NOT certified: the probe
    fails, blaming the TC-* requirement its failing assertion checks and none of the others."""
    result = _certify(case, case.profile, tmp_path, [TEST_CONTROL_CHECK], False, test_control=True)
    assert result.verdict == NOT_CERTIFIED, f"{case.misbehaviour}: certified"
    assert result.status(TEST_CONTROL_CHECK) == "failed"
    assert result.judgement.failed == [case.requirement], (case.misbehaviour, result.judgement.failed)
    probe = next(p for p in result.probes if p.name == TEST_CONTROL_CHECK)
    print(f"{case.id}: {probe.message}")
    # the report's failures say the same: that requirement, the probe's message
    (failure,) = [f for f in failures(result) if f.check == TEST_CONTROL_CHECK]
    assert failure.requirements == (case.requirement,) and failure.message == probe.message


def test_the_test_control_probe_passes_against_a_conforming_test_control(tmp_path: Path) -> None:
    result = _certify(None, "kmd-opus", tmp_path, [TEST_CONTROL_CHECK], False, test_control=True)
    assert result.verdict == CERTIFIED and result.status(TEST_CONTROL_CHECK) == "passed", result.probes
    assert {c.requirement for c in TEST_CONTROL_CASES} <= set(result.judgement.passed)


def test_a_full_conforming_certification_passes_only_what_the_matrix_can_fail(tmp_path: Path) -> None:
    """Derived from the run itself: everything it reports passed has a misbehaviour in the matrix, what it
    reports not verified says why, and the checks the matrix says cannot run against a vendor did not."""
    result = _certify(None, "kmd-opus", tmp_path, [], True)
    assert result.verdict == CERTIFIED, result.judgement.failed
    covered = {c.requirement for c in CASES} | set(PROVEN_ELSEWHERE)
    assert set(result.judgement.passed) <= covered, set(result.judgement.passed) - covered
    assert set(result.judgement.passed) - set(PROVEN_ELSEWHERE) == set(vendor_verifiable("kmd-opus"))
    for requirement in not_verified("kmd-opus"):
        assert result.judgement.outcomes[requirement].outcome == "not-verified", requirement
        assert result.judgement.outcomes[requirement].reason
    for check in NOT_RUN_AGAINST_A_VENDOR:
        assert result.status(check) == "not-run", check


def test_oir_certify_fails_a_vendor_that_takes_calls_without_a_token_on_the_credentials_requirement(
    tmp_path: Path,
) -> None:
    """From the command line, as a vendor's engineer runs it: the credentials checks only, the other
    municipality's token from the environment; the vendor's bug fails MSG-CREDENTIALS and nothing else."""
    from typer.testing import CliRunner

    from harness.cli import app
    from tests.support.vendor_bugs import Bug

    case = Case("MSG-CREDENTIALS", "credentials", Bug("no-token", "HentDebitorkonto"))
    psrm_port, callback_port = free_port(), free_port()
    with misbehaving_system(case, "kmd-opus", psrm_port=psrm_port, callback_port=callback_port) as debtor:
        ports = ["--psrm-port", str(psrm_port), "--callback-port", str(callback_port)]
        only = ["--only", "credentials", "--only", "foreign-credentials"]
        result = CliRunner().invoke(
            app,
            ["certify", "--profile", "kmd-opus", "--debtor-url", debtor.url, *ports, "--out", str(tmp_path), *only],
            env={"OIR_FOREIGN_TOKEN": VENDOR_FOREIGN_TOKEN},
        )
    assert result.exit_code == 1, result.output
    assert VENDOR_FOREIGN_TOKEN not in result.output
    results = json.loads((tmp_path / "kmd-opus" / "results.json").read_text())
    assert results["verdict"] == NOT_CERTIFIED
    assert results["requirements"]["failed"] == ["MSG-CREDENTIALS"]
    assert results["requirements"]["passed"] == ["ROUTE-CREDENTIALS"]
    probe = next(p for p in results["probes"] if p["name"] == "credentials")
    assert "HentDebitorkonto without a token answered 200" in probe["message"]
    assert not (tmp_path / "kmd-opus" / "certificate.json").exists()
