"""Answer time as evidence (harness/certification/latency.py): each call is named by its contract
operation, summarised per operation (p50/p95/max), and judged against the profile's limit; a call
timed out by the harness counts as late; the harness waits longer than the limit; the transport and the
proxy time what really goes to the system. Fast: no certification runs here."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from contracts.profile import profile_capabilities
from contracts.requirements import load_requirements, not_applicable
from harness.certification.judge import judge
from harness.certification.latency import (
    CHECK,
    REQUIREMENT,
    AnswerTimes,
    TimingProxy,
    TimingTransport,
    operation_of,
    patience,
    percentile,
)
from harness.servers import ServerThread


def test_each_call_is_named_by_the_contract_operation_it_hits() -> None:
    assert operation_of("post", "/debitorkonti") == "POST /debitorkonti"
    assert operation_of("GET", "/debitorkonti/K-CERT-1") == "GET /debitorkonti/{debitorkontoId}"
    assert operation_of("GET", "http://127.0.0.1:9/debitorkonti/K-1?x=1") == "GET /debitorkonti/{debitorkontoId}"
    assert operation_of("POST", "/fordringer/F-1/tilstand").endswith("/tilstand")
    assert operation_of("POST", "/indbetaling/soeg") == "POST /indbetaling/soeg"  # not a templated path
    assert operation_of("POST", "/_sim/clock/advance") == "POST /_sim/clock/advance"  # outside the contract


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([5.0, 1.0], 0.5) == 1.0


def _times(*calls: tuple[str, str, float]) -> AnswerTimes:
    times = AnswerTimes()
    for method, path, seconds in calls:
        times.record(method, path, seconds, "probes")
    return times


def test_the_summary_gives_p50_p95_and_max_per_operation_and_counts_the_late_ones() -> None:
    times = _times(*[("GET", f"/debitorkonti/K-{i}", i / 10) for i in range(1, 21)], ("POST", "/debitorkonti", 0.2))
    summary = times.summary(1.5)
    lookup = next(o for o in summary["operations"] if o["operation"] == "GET /debitorkonti/{debitorkontoId}")
    assert (lookup["calls"], lookup["p50_s"], lookup["p95_s"], lookup["max_s"]) == (20, 1.0, 1.9, 2.0)
    assert lookup["over_limit"] == 5  # 1.6 … 2.0 s
    assert summary["calls"] == 21 and summary["limit_s"] == 1.5 and summary["sources"] == {"probes": 21}
    assert summary["patience_s"] == 3.0


def test_a_call_within_the_limit_passes_and_one_beyond_it_fails_the_answer_time_requirement() -> None:
    within, _ = _times(("POST", "/debitorkonti", 0.9)).check(1.0)
    assert within.passed and within.requirements == (REQUIREMENT,) and within.name == CHECK
    beyond, evidence = _times(("POST", "/debitorkonti", 0.9), ("GET", "/debitorkonti/K", 1.2)).check(1.0)
    assert not beyond.passed
    assert evidence == ["GET /debitorkonti/{debitorkontoId} (probes): answered in 1.200 s, over the 1 s limit"]
    judged = judge([beyond], (), date(2026, 12, 1), not_applicable=not_applicable(profile_capabilities("kmd-opus")))
    assert judged.failed == [REQUIREMENT] and judged.verdict == "NOT_CERTIFIED"


def test_a_call_the_harness_stopped_waiting_for_is_late_and_nothing_timed_is_not_a_pass() -> None:
    times = AnswerTimes()
    times.record("POST", "/debitorkonti", 2.0, "pact", answered=False)
    check, evidence = times.check(None)  # even without a limit: no answer is no answer
    assert not check.passed and "no answer within" in evidence[0]
    judged = judge([check], (), date(2026, 12, 1), not_applicable=not_applicable(profile_capabilities("eg")))
    assert judged.statuses[CHECK] == "failed" and judged.verdict == "NOT_CERTIFIED"
    assert times.summary(None)["operations"][0]["unanswered"] == 1
    nothing, _ = AnswerTimes().check(1.0)
    assert not nothing.ran and nothing.status == "not-run"


def test_the_requirement_binds_only_profiles_with_a_limit_and_the_harness_waits_longer_than_it() -> None:
    assert load_requirements()[REQUIREMENT].requires == "answer_time_limit"
    assert REQUIREMENT in not_applicable(profile_capabilities("eg"))
    assert REQUIREMENT not in not_applicable(profile_capabilities("kmd-opus"))
    check, _ = _times(("POST", "/debitorkonti", 0.1)).check(None)
    judged = judge([check], (), date(2026, 12, 1), not_applicable=not_applicable(profile_capabilities("eg")))
    assert judged.statuses[CHECK] == "not-applicable" and REQUIREMENT in judged.not_applicable
    assert patience(300) == 600 and patience(None) > 30  # KMD Opus: never the old 15 s or 30 s


def test_schemathesis_har_entries_are_recorded(tmp_path: Path) -> None:
    har = tmp_path / "s.har"
    entries = [
        {"time": 250.0, "request": {"method": "POST", "url": "http://127.0.0.1:1/debitorforespoergsel"}},
        {"time": 12.5, "request": {"method": "GET", "url": "http://127.0.0.1:1/debitorkonti/K%201"}},
        {"request": {"method": "GET"}},  # no time: skipped
    ]
    har.write_text(json.dumps({"log": {"entries": entries}}))
    times = AnswerTimes()
    assert times.record_har(har) == 2
    assert {(c.operation, c.seconds, c.source) for c in times.calls} == {
        ("POST /debitorforespoergsel", 0.25, "schemathesis"),
        ("GET /debitorkonti/{debitorkontoId}", 0.0125, "schemathesis"),
    }
    assert AnswerTimes().record_har(tmp_path / "missing.har") == 0


def test_the_transport_times_every_answer_and_every_timeout() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(201, json={"ok": True})

    times = AnswerTimes()
    with httpx.Client(transport=TimingTransport(times, "probes", httpx.MockTransport(answer))) as client:
        assert client.post("http://debtor/debitorkonti", json={}).status_code == 201
        with pytest.raises(httpx.ReadTimeout):
            client.get("http://debtor/slow")
    calls = {(c.operation, c.answered) for c in times.calls}
    assert calls == {("POST /debitorkonti", True), ("GET /slow", False)}


def test_the_proxy_passes_requests_and_answers_through_unchanged_and_times_them() -> None:
    upstream = FastAPI()

    @upstream.post("/debitorkonti/{account}")
    def echo(account: str, body: dict[str, int], x_kommune_cvr: str = "") -> dict[str, object]:
        return {"account": account, "body": body}

    times = AnswerTimes()
    with ServerThread(upstream, name="upstream", log_level="critical") as target:
        with ServerThread(
            TimingProxy(target.url, times, "pact", timeout=5.0), name="proxy", log_level="error"
        ) as proxy:
            answer = httpx.post(f"{proxy.url}/debitorkonti/K-1?q=1", json={"a": 1}, headers={"X-Kommune-Cvr": "1"})
            missing = httpx.get(f"{proxy.url}/nowhere")
    assert answer.status_code == 200 and answer.json() == {"account": "K-1", "body": {"a": 1}}
    assert missing.status_code == 404
    assert [c.operation for c in times.calls] == ["POST /debitorkonti/{debitorkontoId}", "GET /nowhere"]
    assert {c.source for c in times.calls} == {"pact"}


def test_the_console_names_the_slowest_operation_and_the_late_calls() -> None:
    from harness.certification.commands import _latency_line

    times = _times(("POST", "/debitorkonti", 0.2), ("GET", "/debitorkonti/K", 1.5), ("GET", "/debitorkonti/L", 0.5))
    line = _latency_line(times.summary(1.0))
    assert line.startswith("3 calls; slowest GET /debitorkonti/{debitorkontoId} p50 0.5 s, p95 1.5 s, max 1.5 s")
    assert line.endswith("(limit 1.0 s; 1 over it)")
    assert _latency_line(AnswerTimes().summary(None)) == "no call was timed"


def test_a_probe_whose_call_gets_no_answer_in_time_is_not_run_and_the_answer_time_check_fails() -> None:
    from contracts.municipalities import for_vendor
    from harness.certification.probes import DebtorConversation, run_probes

    def no_answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    times = AnswerTimes()
    results = run_probes(
        lambda: DebtorConversation(
            "http://debtor.invalid",
            "t",
            for_vendor("eg")[0],
            "s",
            transport=TimingTransport(times, "probes", httpx.MockTransport(no_answer)),
        ),
        neighbour=None,
        b03=False,
        inbox=None,
        simulated=True,
        advance=lambda days: True,
        callback_timeout=0.1,
    )
    registration = next(r for r in results if r.name == "registration")
    assert not registration.ran and "POST /debitorkonti got no answer in time" in registration.message
    check, evidence = times.check(300)
    assert not check.passed and any(e.startswith("POST /debitorkonti (probes): no answer within") for e in evidence)
