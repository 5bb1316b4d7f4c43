"""Certification sessions that wait (harness/certification/sessions.py), on an injected clock: when a
parked check resumes, expiry, a plain rerun while a session waits, resuming too early, and unknown or
corrupted sessions — each a clear message and the documented exit code, never a traceback. The whole
wait-and-resume against a wrapped simulator is tests/vendor_mode/test_waiting_session.py."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from typer.testing import CliRunner

from contracts.checks.fuzz import FuzzResult
from contracts.profile import profile_path
from harness.certification.certificate import rfc3339
from harness.certification.commands import CertifyOptions, run_certify
from harness.certification.judge import NOT_CERTIFIED, WAITING, CheckOutcome, judge
from harness.certification.pacts import PactPart
from harness.certification.probes import Parked, ProbeResult
from harness.certification.report import write_report
from harness.certification.run import CertificationResult, check_outcomes
from harness.certification.sessions import (
    SESSION_DAYS,
    CertificationSession,
    RunParts,
    SessionStore,
    expiry,
    resume_time,
)
from harness.cli import app
from harness.servers import ServerThread
from simulators import factory

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2026, 1, 5, 9, 30, tzinfo=CPH)
RESUMES = "2026-01-06T09:00:00+01:00"


@pytest.mark.parametrize(
    ("now", "resumes"),
    [
        (MONDAY, RESUMES),
        (datetime(2026, 1, 6, 7, 0, tzinfo=CPH), "2026-01-07T09:00:00+01:00"),  # before 09:00: still tomorrow
        (datetime(2026, 1, 9, 16, 0, tzinfo=CPH), "2026-01-12T09:00:00+01:00"),  # Friday: Monday
        (datetime(2026, 4, 1, 12, 0, tzinfo=CPH), "2026-04-07T09:00:00+02:00"),  # before Easter: Tuesday after
        (datetime(2026, 12, 23, 12, 0, tzinfo=CPH), "2026-12-28T09:00:00+01:00"),  # 24 Dec is a bank closing day
        (datetime(2026, 5, 13, 12, 0, tzinfo=CPH), "2026-05-18T09:00:00+02:00"),  # Ascension and the Friday after
    ],
)
def test_a_parked_check_resumes_on_the_next_danish_bank_day_at_nine(now: datetime, resumes: str) -> None:
    assert resume_time(now).isoformat() == resumes


def _session(session_id: str, url: str, now: datetime = MONDAY, resume_at: str = RESUMES) -> CertificationSession:
    parked = Parked(stage="pay-next-day", needs={"fordringId": "CERT-1"}, expects="paid tomorrow", resume_at=resume_at)
    probe = ProbeResult("payment-callback", ["B01R-PAYMENT"], False, "waiting", ran=False, waiting=parked)
    parts = RunParts(FuzzResult(True, 0, "ok"), [probe], PactPart("debtor", [], {}, 0.0, []), None)
    return CertificationSession(
        id=session_id,
        profile="kmd-opus",
        debtor_url=url,
        report="/tmp/report/kmd-opus",
        created=rfc3339(now),
        expires=rfc3339(expiry(now)),
        status="waiting",
        seed=1,
        max_examples=2,
        callback_timeout=10.0,
        callback_port=0,
        psrm_port=0,
        scenarios=False,
        data_salt="0000abcd",
        started=now.isoformat(),
        seconds=1.0,
        parts=parts,
    )


def _run(options: CertifyOptions, now: datetime) -> tuple[int, str]:
    out = io.StringIO()
    code = run_certify(Console(file=out, width=300), options, now)
    return code, out.getvalue()


def _options(url: str | None = None, **changes: Any) -> CertifyOptions:
    options = CertifyOptions(
        profiles=["kmd-opus"] if url else [],
        out=Path("unused"),
        seed=1,
        max_examples=2,
        debtor_url=url,
        debtor_token=None,
        callback_token="",
        callback_port=0,
        psrm_port=0,
        callback_timeout=10,
        signing_key=None,
        validity_days=180,
    )
    return replace(options, **changes)


@pytest.fixture(scope="module")
def answering() -> Iterator[str]:
    """Something that answers HTTP (a plain rerun is refused only after the URL is found reachable)."""
    with ServerThread(factory("psrm")(), name="answering", log_level="critical") as server:
        yield server.url


def test_a_session_survives_the_store_with_its_parked_checks(oir_home: Path) -> None:
    store = SessionStore(oir_home)
    store.save(_session("kmd-opus-20260105-0930-aaaaaa", "http://vendor"))
    loaded = store.load("kmd-opus-20260105-0930-aaaaaa")
    assert loaded.parts.probes[0].waiting == Parked("pay-next-day", {"fordringId": "CERT-1"}, "paid tomorrow", RESUMES)
    assert loaded.resume_at() == datetime(2026, 1, 6, 9, 0, tzinfo=CPH)
    assert (oir_home / "sessions").stat().st_mode & 0o077 == 0  # the folder is the user's own


def test_a_plain_rerun_while_a_session_waits_says_so_and_how_to_resume(
    oir_home: Path, answering: str, tmp_path: Path
) -> None:
    SessionStore(oir_home).save(_session("kmd-opus-20260105-0930-bbbbbb", answering))
    code, output = _run(_options(answering, out=tmp_path), MONDAY + timedelta(hours=2))
    assert code == 2, output
    assert "kmd-opus-20260105-0930-bbbbbb" in output and "is waiting" in output
    assert "oir certify --resume kmd-opus-20260105-0930-bbbbbb" in output and "--new-session" in output
    assert not (tmp_path / "kmd-opus").exists()  # nothing ran


def test_a_waiting_session_expires_after_the_stated_days(oir_home: Path, answering: str) -> None:
    store = SessionStore(oir_home)
    store.save(_session("kmd-opus-20260105-0930-cccccc", "http://elsewhere"))
    later = MONDAY + timedelta(days=SESSION_DAYS)
    code, output = _run(_options(resume="kmd-opus-20260105-0930-cccccc"), later)
    assert code == 2, output
    assert "expired on" in output and f"at most {SESSION_DAYS} days" in output
    assert store.load("kmd-opus-20260105-0930-cccccc").status == "expired"
    # a day earlier it was still there to resume (not ready here, but not expired)
    store.save(_session("kmd-opus-20260105-0930-dddddd", "http://elsewhere", resume_at="2026-01-13T09:00:00+01:00"))
    code, output = _run(_options(resume="kmd-opus-20260105-0930-dddddd"), later - timedelta(days=1))
    assert code == 3 and "not ready" in output


def test_an_expired_session_does_not_block_a_new_run(oir_home: Path, answering: str) -> None:
    store = SessionStore(oir_home)
    store.save(_session("kmd-opus-20260105-0930-eeeeee", answering + "/other"))
    later = MONDAY + timedelta(days=SESSION_DAYS, minutes=1)
    assert store.waiting("kmd-opus", answering + "/other", later) == []
    assert store.load("kmd-opus-20260105-0930-eeeeee").status == "expired"


def test_resuming_before_the_resume_time_says_when_it_will_be_ready(oir_home: Path) -> None:
    SessionStore(oir_home).save(_session("kmd-opus-20260105-0930-ffffff", "http://vendor"))
    code, output = _run(_options(resume="kmd-opus-20260105-0930-ffffff"), MONDAY.replace(hour=15))
    assert code == 3, output
    assert f"ready at {RESUMES}" in output and "(in 17 h 30 min)" in output
    assert "payment-callback" in output and "--resume-early" in output
    assert SessionStore(oir_home).load("kmd-opus-20260105-0930-ffffff").status == "waiting"  # untouched


def test_resume_early_passes_the_time_check_only_when_asked(oir_home: Path) -> None:
    store = SessionStore(oir_home)
    store.save(_session("kmd-opus-20260105-0930-abcabc", "http://vendor"))
    session = store.resumable("kmd-opus-20260105-0930-abcabc", MONDAY.replace(hour=15), early=True)
    assert session.id == "kmd-opus-20260105-0930-abcabc"
    code, output = _run(_options(resume_early=True), MONDAY)
    assert code == 2 and "--resume-early only goes with --resume" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is corrupted"),
        ('{"schema": "oir-certification-session/1", "id": "x"}', "is corrupted"),
        ('{"schema": "something-else"}', "is corrupted"),
    ],
)
def test_a_corrupted_session_is_a_clear_error(oir_home: Path, content: str, message: str) -> None:
    (oir_home / "sessions").mkdir(parents=True, exist_ok=True, mode=0o700)
    (oir_home / "sessions" / "kmd-opus-broken.json").write_text(content)
    code, output = _run(_options(resume="kmd-opus-broken"), MONDAY)
    assert code == 2, output
    assert message in output and "kmd-opus-broken.json" in output and "Traceback" not in output


@pytest.mark.parametrize("session_id", ["kmd-opus-20990101-0000-000000", "../../etc/passwd", "UPPER"])
def test_an_unknown_session_is_a_clear_error_through_the_command_line(session_id: str) -> None:
    result = CliRunner().invoke(app, ["certify", "--resume", session_id])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "no certification session" in result.output or "is not a certification session id" in result.output


def test_a_complete_session_is_not_resumed_again(oir_home: Path) -> None:
    session = _session("kmd-opus-20260105-0930-121212", "http://vendor")
    session.status = "completed"
    SessionStore(oir_home).save(session)
    code, output = _run(_options(resume=session.id), MONDAY + timedelta(days=1))
    assert code == 2 and "is complete" in output and "/tmp/report/kmd-opus" in output


def test_a_waiting_check_is_never_a_pass_and_makes_the_verdict_wait() -> None:
    held = CheckOutcome("registration", ("B01-CREATE-ACCOUNT", "B01R-PAYMENT"), True)
    waits = CheckOutcome("payment-callback", ("B01R-PAYMENT",), False, ran=False, waiting_until=RESUMES)
    judged = judge([held, waits], (), MONDAY.date())
    assert judged.verdict == WAITING and judged.statuses["payment-callback"] == "waiting"
    assert judged.waiting == ["B01R-PAYMENT"] and judged.passed == ["B01-CREATE-ACCOUNT"]  # a waiting check may fail it
    assert RESUMES in judged.outcomes["B01R-PAYMENT"].reason
    failed = CheckOutcome("bad-input", ("MSG-PROBLEM-JSON",), False)
    assert judge([held, waits, failed], (), MONDAY.date()).verdict == NOT_CERTIFIED  # a failure is final


def test_the_session_file_keeps_no_cpr(oir_home: Path) -> None:
    session = _session("kmd-opus-20260105-0930-343434", "http://vendor")
    session.parts.probes[0].evidence = ['POST /debitorkonti {"cpr": "0101901234"} -> 201']
    path = SessionStore(oir_home).save(session)
    text = path.read_text()
    assert "0101901234" not in text and "010190-xxxx" in text
    assert json.loads(text)["data_salt"] == "0000abcd"  # hex: CPR masking never touches the salt


def test_a_waiting_run_writes_its_reports_but_no_certificate_and_removes_an_old_one(tmp_path: Path) -> None:
    parts = _session("kmd-opus-20260105-0930-565656", "http://vendor").parts
    result = CertificationResult(
        profile="kmd-opus",
        product="KMD Opus",
        target="http://vendor",
        seed=1,
        contract_digest="sha256:x",
        started=MONDAY.isoformat(),
        seconds=1.0,
        fuzz=parts.fuzz,
        probes=parts.probes,
        debtor_url="http://vendor",
        simulated=False,
        judgement=judge(check_outcomes(parts.fuzz, parts.probes, parts.pact, None), (), MONDAY.date()),
        profile_file=profile_path("kmd-opus"),
        pact=parts.pact,
        scenarios=None,
        session="kmd-opus-20260105-0930-565656",
    )
    (tmp_path / "certificate.json").write_text('{"certificate": {"verdict": "CERTIFIED"}}')  # an earlier run's
    assert write_report(result, tmp_path, key=Ed25519PrivateKey.generate()) is None
    assert not (tmp_path / "certificate.json").exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["verdict"] == WAITING and results["certified"] is False
    assert results["waiting"][0]["resumeAt"] == RESUMES and results["requirements"]["waiting"] == ["B01R-PAYMENT"]
    assert "B01R-PAYMENT" not in results["requirements"]["passed"]


def test_the_fuzzing_part_comes_back_with_its_checks_and_failures() -> None:
    """A resumed session judges the fuzzing again: its checks must be checks, not dicts."""
    from dataclasses import asdict

    from contracts.checks.fuzz import FuzzCheck, FuzzFailure
    from harness.certification.sessions import RunParts

    failure = FuzzFailure("POST /debitorkonti", "ignored_auth", "accepts no auth", "m", "curl …", ["MSG-CREDENTIALS"])
    check = FuzzCheck("schemathesis ignored_auth", "ignored_auth", ["MSG-CREDENTIALS"], 3, [failure])
    parts = RunParts(FuzzResult(False, 1, "1 failure", [check]), [], PactPart("debtor", [], {}, 0.0, []), None)
    back = RunParts.from_json(json.loads(json.dumps(asdict(parts), default=str)))
    assert back.fuzz.checks[0].ran and not back.fuzz.checks[0].passed
    assert back.fuzz.checks[0].failures[0].operation == "POST /debitorkonti"
