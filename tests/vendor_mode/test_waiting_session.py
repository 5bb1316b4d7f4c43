"""A vendor's system without test control lives in real time: certifying it, the payment probe registers
a claim today and WAITS for the next bank day (a claim is payable through B_03 only then); the run is a
session that no certificate stands for yet, and `oir certify --resume SESSION` on the next bank day pays
the claim, sees the payment reported back and certifies the whole session.

Time is injected, never slept: the harness's clock is the `now` given to `run_certify`, and the wrapped
simulator's clock (the vendor's "real" time) is moved by its operator — this test — through a door only
the operator has (`/_operator/clock/…`; the harness meets a real system: no `/_sim/`, no sessions)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from rich.console import Console
from starlette.types import Receive, Scope, Send

from harness.certification.certificate import verify
from harness.certification.commands import CertifyOptions, run_certify
from harness.certification.keys import harness_key
from harness.servers import ServerThread
from tests.support.ids import without_uuids
from tests.support.misbehaving import AsARealSystem, free_port, vendor_debtor

# One worker builds the module's expensive fixtures (scoped to the module) once for all its tests;
# with --dist loadgroup spread over two workers, each would compute them again.
pytestmark = pytest.mark.xdist_group("waiting-session")

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2026, 1, 5, 9, 30, tzinfo=CPH)  # the simulator's own clock starts that morning at 09:00
RESUMES = "2026-01-06T09:00:00+01:00"  # Tuesday, the next bank day, at the banks' business hours


class WithOperatorClock(AsARealSystem):
    """The wrapped simulator, with its clock movable by its operator only (`/_operator/clock/advance`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_operator/"):
            path = "/_sim/" + scope["path"].removeprefix("/_operator/")
            await self.app({**scope, "path": path, "raw_path": path.encode()}, receive, send)
            return
        await super().__call__(scope, receive, send)


def _advance_vendor_clock(url: str, days: int) -> None:
    answer = httpx.post(
        f"{url}/_operator/clock/advance", json={"days": days}, headers={"Authorization": "Bearer oir-dev-token"}
    )
    assert answer.status_code == 200, answer.text


def _options(out: Path, url: str, callback_port: int, psrm_port: int, *, callback_timeout: float) -> CertifyOptions:
    """`oir certify --profile kmd-opus --debtor-url URL --no-scenarios` on fixed ports, as these tests run it."""
    return CertifyOptions(
        profiles=["kmd-opus"],
        out=out,
        seed=20261124,
        max_examples=2,
        debtor_url=url,
        debtor_token=None,
        callback_token="",
        callback_port=callback_port,
        psrm_port=psrm_port,
        callback_timeout=callback_timeout,
        signing_key=None,
        validity_days=180,
        scenarios=False,
    )


def _run(options: CertifyOptions, now: datetime) -> tuple[int, str]:
    out = io.StringIO()
    code = run_certify(Console(file=out, width=400), options, now)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def vendor() -> Iterator[tuple[ServerThread, int, int]]:
    psrm_port, callback_port = free_port(), free_port()
    app = vendor_debtor("kmd-opus", psrm_port=psrm_port, callback_port=callback_port)
    with ServerThread(WithOperatorClock(app), name="vendor-waiting", log_level="critical") as debtor:
        yield debtor, psrm_port, callback_port


def test_a_session_waits_for_the_next_bank_day_and_resuming_it_verifies_the_payment(
    tmp_path: Path, oir_home: Path, vendor: tuple[ServerThread, int, int]
) -> None:
    debtor, psrm_port, callback_port = vendor
    options = _options(tmp_path, debtor.url, callback_port, psrm_port, callback_timeout=10)
    folder = tmp_path / "kmd-opus"

    # Monday: the probe registers its claim and parks; nothing waiting counts, no certificate is issued
    code, output = _run(options, MONDAY)
    assert code == 3, output
    assert "WAITING" in output and "oir certify --resume kmd-opus-" in output, output
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "WAITING" and results["certified"] is False
    session = results["session"]
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "waiting"
    assert [(w["check"], w["resumeAt"]) for w in results["waiting"]] == [("payment-callback", RESUMES)]
    assert results["waiting"][0]["resume"] == f"oir certify --resume {session}"
    parked = {"B01R-PAYMENT", "B03-PAY", "B03-NEXT-DAY"}
    assert parked <= set(results["requirements"]["waiting"])
    assert not parked & set(results["requirements"]["passed"])
    outcomes = {o["id"]: o for o in results["requirements"]["outcomes"]}
    assert outcomes["B01R-PAYMENT"]["outcome"] == "waiting" and RESUMES in outcomes["B01R-PAYMENT"]["reason"]
    assert not (folder / "certificate.json").exists()
    junit = (folder / "junit.xml").read_text()
    assert "WAITING (not a pass)" in junit and f"oir certify --resume {session}" in junit
    html = (folder / "index.html").read_text()
    assert 'id="waiting"' in html and RESUMES in html and f"oir certify --resume {session}" in html
    stored = (oir_home / "sessions" / f"{session}.json").read_text()
    assert json.loads(stored)["status"] == "waiting"
    no_cpr_masked_or_not = r"(?<![0-9])[0-3][0-9][01][0-9]{3}-?[0-9]{4}(?![0-9])"
    assert not re.search(no_cpr_masked_or_not, without_uuids(stored))
    claim = results["waiting"][0]["needs"]["fordringId"]
    assert claim in stored

    # a plain rerun says a session waits, and how to resume it; nothing runs
    again_code, again = _run(replace(options, out=tmp_path / "rerun"), MONDAY.replace(hour=14))
    assert again_code == 2 and f"{session}" in again and "is waiting" in again
    assert f"oir certify --resume {session}" in again and not (tmp_path / "rerun").exists()

    # resumed the same afternoon: not ready, says when it will be
    resume = replace(options, resume=session, profiles=[], debtor_url=None, out=Path("ignored"))
    early_code, early = _run(resume, MONDAY.replace(hour=15))
    assert early_code == 3 and "not ready" in early and RESUMES in early
    assert "--resume-early" in early

    # Tuesday: the vendor's clock moved a business day (its operator), and so did the harness's
    _advance_vendor_clock(debtor.url, 1)
    tuesday = datetime(2026, 1, 6, 9, 5, tzinfo=CPH)
    code, output = _run(resume, tuesday)
    assert code == 0, output
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "CERTIFIED" and results["waiting"] == []
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "passed" and "12000 øre" in probe["message"]
    assert parked <= set(results["requirements"]["passed"]) and results["requirements"]["waiting"] == []
    outcomes = {o["id"]: o for o in results["requirements"]["outcomes"]}
    assert outcomes["B01R-PAYMENT"]["how"] == "real time"
    document = json.loads((folder / "certificate.json").read_text())
    certificate = document["certificate"]
    assert certificate["verdict"] == "CERTIFIED" and certificate["issued"] == "2026-01-06T08:05:00Z"
    assert parked <= set(certificate["requirements"]["passed"])
    # what only checks that cannot run against a real system cover stays listed as not verified
    assert certificate["requirements"]["notVerified"] == results["requirements"]["notVerified"]
    assert not parked & set(certificate["requirements"]["notVerified"])
    assert verify(document, harness_key().public_key(), tuesday).valid
    assert json.loads((oir_home / "sessions" / f"{session}.json").read_text())["status"] == "completed"

    # a complete session cannot be resumed again
    done_code, done = _run(resume, tuesday)
    assert done_code == 2 and "is complete" in done


def test_resuming_early_runs_the_second_half_now_and_a_claim_not_yet_payable_fails(
    tmp_path: Path, oir_home: Path
) -> None:
    psrm_port, callback_port = free_port(), free_port()
    app = vendor_debtor("kmd-opus", psrm_port=psrm_port, callback_port=callback_port)
    with ServerThread(WithOperatorClock(app), name="vendor-early", log_level="critical") as debtor:
        options = _options(tmp_path, debtor.url, callback_port, psrm_port, callback_timeout=2)
        code, output = _run(options, MONDAY)
        assert code == 3, output
        session = json.loads((tmp_path / "kmd-opus" / "results.json").read_text())["session"]
        # forced the same morning: the vendor's day has not turned, so the claim is not payable yet
        forced = replace(options, resume=session, resume_early=True, profiles=[], debtor_url=None)
        code, output = _run(forced, MONDAY.replace(hour=10))
    assert code == 1, output
    results = json.loads((tmp_path / "kmd-opus" / "results.json").read_text())
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "failed" and "not payable the day after registration" in probe["message"]
    assert "B03-NEXT-DAY" in results["requirements"]["failed"] and results["verdict"] == "NOT_CERTIFIED"
    certificate = json.loads((tmp_path / "kmd-opus" / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "NOT_CERTIFIED" and "B03-NEXT-DAY" in certificate["requirements"]["failed"]
