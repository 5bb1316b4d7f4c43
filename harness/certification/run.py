"""One certification run of a debtor-system profile, against its simulator or a vendor's system.

It starts what the debtor system talks to (PSRM and the fagsystem's callback address, the relay) — on
fixed ports if asked, so a vendor can configure them —, fuzzes the debtor system with the vendor-facing
`oir-debitor-v3` contract through the schemathesis command line (all checks, seeded, bounded), runs the
conformance probes, replays the consumer pacts that apply to the profile (pacts.py), runs the profile's
scenarios end to end with FBS, the payment solution and a real engine per scenario behind the relay
(scenarios.py), and judges, taking the profile's accepted deviations into account (judge.py).
Two more checks judge what the run observed rather than what it asked: the answer time of every call to
the debtor system against the profile's limit (latency.py; the harness's own timeouts follow the
profile), and every message the vendor sent to the callback address, awaited or not (sent.py).
A requirement the profile's capabilities rule out (`contracts.requirements.not_applicable`: B_03 for
EG) is cited by no check of the run — a probe proving B_03 absent cites the absence's own requirement,
not the B_03 ones — and is reported as not applicable, never as passed.
With no URL it starts the profile's own simulator, wired to those counterparts. The simulators it runs
(PSRM, that debtor) come from harness/topology.py: nothing under harness/certification/ imports them.
The result is built once, after judging: `CertificationResult` has its judgement from the start.
Against a vendor's system a check that needs the next business day may park (`park_until`): the run then
judges WAITING, the caller keeps it as a session (sessions.py), and `resume_certification` later runs the
parked checks' second halves with the counterparts listening on the same addresses and judges the whole.
"""

from __future__ import annotations

import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts import wire_client
from contracts.checks.fuzz import CHECK_REQUIREMENTS, FuzzCheck, FuzzResult, run_schemathesis, vendor_contract
from contracts.municipalities import for_vendor
from contracts.profile import Profile, load_profile, profile_capabilities, profile_path
from contracts.requirements import not_applicable, vendor_unverified
from contracts.specs import spec_digest
from scenarios.actions.clock_faults import unsent_due_callbacks
from scenarios.reporters import write_har

from ..callback_relay import CallbackRelay, write_journal
from ..scenario_world import PSRM_SESSION, VendorSystem
from ..servers import ServerError, ServerGroup, ServerThread
from ..topology import scoped_tokens, simulator_server
from .certificate import rfc3339
from .coverage import uncited_reasons
from .errors import CounterpartStartError
from .judge import (
    CERTIFIED,
    CERTIFIED_WITH_DEVIATIONS,
    REAL_TIME,
    SIMULATOR_TIME,
    TEST_CLOCK,
    CheckOutcome,
    Judgement,
    judge,
)
from .latency import AnswerTimes, TimingProxy, TimingTransport, patience
from .pacts import PactPart, debtor_consumers, verify_debtor_pacts
from .probes import PROBES, DebtorConversation, ProbeFailure, ProbeResult, resume_probes, run_probes
from .scenarios import ScenarioCheck, run_profile_scenarios
from .selection import FUZZ_CHECK, ONLY_REASON, check_selection, chooser, deselect, pacts_left_out
from .sent import SentJudgement, judge_sent
from .sessions import RunParts
from .target import CALLBACK_TOKEN, DEV_TOKEN, FOREIGN_TOKEN, Counterparts, Target

FUZZ_NOT_RUN = -1  # FuzzResult.exit_code of a run that did not fuzz (not selected); its summary says why
STEPS = 3 + len(PROBES)  # the contract fuzzing, each probe, the consumer pacts, the scenarios: for progress bars
__all__ = [
    "CALLBACK_TOKEN",
    "STEPS",
    "CertificationResult",
    "FuzzCheck",
    "FuzzResult",
    "certify_profile",
    "run_schemathesis",
    "vendor_contract",
]


@dataclass(frozen=True)
class Observed:
    """What the run observed of the debtor system besides what its checks asked: the answer time of
    every call (`latency`: per operation p50/p95/max, latency.py) judged against the profile's limit,
    and every message it sent to the callback address (sent.py)."""

    latency: dict[str, Any]
    answer_time: CheckOutcome
    answer_evidence: list[str] = field(default_factory=list)
    sent: SentJudgement | None = None

    def outcomes(self) -> list[CheckOutcome]:
        return [self.answer_time] + ([self.sent.outcome()] if self.sent is not None else [])

    def evidence(self, check: str) -> list[str]:
        if check == self.answer_time.name:
            return self.answer_evidence
        return self.sent.evidence() if self.sent is not None and check == self.sent.outcome().name else []


def check_outcomes(
    fuzz: FuzzResult,
    probes: list[ProbeResult],
    pact: PactPart,
    scenarios: ScenarioCheck | None,
    observed: Observed | None = None,
) -> list[CheckOutcome]:
    """Every check of a run, in report order: its name, the requirement IDs it cites, whether it
    passed, and whether it ran at all (a check this target could not run is never a pass).
    Each schemathesis check is a check of its own that blames only what its failures are evidence
    against; a fuzz run that could not exercise the system makes every one of them an ERROR."""
    return (
        (
            [fuzz_outcome(fuzz, check) for check in fuzz.checks]
            if fuzz.exit_code != FUZZ_NOT_RUN
            else [CheckOutcome(FUZZ_CHECK, (), False, ran=False, reason=fuzz.summary)]
        )
        + [
            CheckOutcome(
                p.name,
                tuple(p.requirements),
                p.passed,
                p.ran,
                reason=p.message if p.error or not p.ran else "",
                waiting_until=p.waiting.resume_at if p.waiting else "",
                error=p.error,
                blamed=None if p.blamed is None else tuple(p.blamed),
                unproven=tuple(p.unproven),
            )
            for p in probes
        ]
        + [
            CheckOutcome(i.check, tuple(i.requirements), i.passed, i.ran, reason="" if i.ran else "; ".join(i.evidence))
            for i in pact.interactions
        ]
        + (scenarios.outcomes() if scenarios else [])
        + (observed.outcomes() if observed else [])
    )


def fuzz_outcome(fuzz: FuzzResult, check: FuzzCheck) -> CheckOutcome:
    """One schemathesis check as a check of the run."""
    if fuzz.error:
        return CheckOutcome(check.check, tuple(check.requirements), False, error=True, reason=fuzz.error)
    if not check.ran:
        reason = f"schemathesis judged no test case with {check.schemathesis}"
        return CheckOutcome(check.check, tuple(check.requirements), False, ran=False, reason=reason)
    return CheckOutcome(
        check.check,
        tuple(check.requirements),
        check.passed,
        blamed=tuple(check.blamed),
        unproven=tuple(check.unproven),
        reason=_unproven_reason(check.schemathesis) if check.unproven else "",
    )


def _unproven_reason(schemathesis_check: str) -> str:
    if schemathesis_check == "missing_required_header":
        return "no fuzzing request left out its header (schemathesis stops testing an operation at its first failure)"
    return f"{schemathesis_check} holds even where it has nothing to check: only a failure of it is evidence"


@dataclass(frozen=True)
class CertificationResult:
    """One certification run, built once its checks are judged: nothing in it is filled in later."""

    profile: str
    product: str
    target: str
    seed: int
    contract_digest: str
    started: str
    seconds: float
    fuzz: FuzzResult
    probes: list[ProbeResult]
    debtor_url: str
    simulated: bool
    judgement: Judgement
    profile_file: Path  # the profile file judged (its digest goes into the certificate)
    pact: PactPart
    scenarios: ScenarioCheck | None  # None: the run was asked not to run scenarios
    session: str = ""  # the certification session (a vendor's system): `oir certify --resume` continues it
    resumed: str = ""  # when the session was last resumed (RFC 3339): the certificate's issue time

    @property
    def waiting(self) -> list[ProbeResult]:
        """The checks that parked until the next bank day (nothing waiting ever counts as passed)."""
        return [p for p in self.probes if p.waiting is not None]

    observed: Observed | None = None  # answer times and the vendor's messages (None: not observed)

    def outcomes(self) -> list[CheckOutcome]:
        """Every check of the run, in report order (see `check_outcomes`)."""
        return check_outcomes(self.fuzz, self.probes, self.pact, self.scenarios, self.observed)

    def checks(self) -> list[tuple[str, list[str]]]:
        """Every check of the run with the requirement IDs it cites, in report order."""
        return [(o.name, list(o.requirements)) for o in self.outcomes()]

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def certified(self) -> bool:
        """Certified, with or without accepted deviations (never while anything waits)."""
        return self.verdict in (CERTIFIED, CERTIFIED_WITH_DEVIATIONS)

    def status(self, check: str) -> str:
        """passed, failed, error, accepted-deviation, not-run, not-applicable or waiting, for a check's name
        ('schemathesis ignored_auth', a probe's …)."""
        return self.judgement.statuses.get(check, "failed")

    @property
    def fuzz_status(self) -> str:
        """The contract fuzzing as a whole: its worst check (error, failed, accepted-deviation, not-run, passed)."""
        statuses = {self.status(c.check) for c in self.fuzz.checks} or {"error" if self.fuzz.error else "not-run"}
        order = ("error", "failed", "accepted-deviation", "not-run", "not-applicable", "passed")
        return next(s for s in order if s in statuses)

    @property
    def errors(self) -> list[str]:
        """One line per check of the run that ended in ERROR (could not exercise the system), the
        contract fuzzing's checks as one line."""
        lines = [f"contract fuzzing (schemathesis): {self.fuzz.error}"] if self.fuzz.error else []
        fuzz = {c.check for c in self.fuzz.checks}
        errored = [name for name, status in self.judgement.statuses.items() if status == "error"]
        return lines + [f"{name}: ERROR" for name in errored if name not in fuzz]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("judgement")
        data.pop("profile_file")
        data["certified"] = self.certified
        data["verdict"] = self.verdict
        data["fuzz"]["status"] = self.fuzz_status
        data["fuzz"]["requirements"] = self.fuzz.requirements
        for check in data["fuzz"]["checks"]:
            check["status"] = self.status(check["check"])
            check["passed"] = check["status"] == "passed"
        for probe in data["probes"]:
            probe["status"] = self.status(probe["name"])
            probe.pop("exchanges", None)  # in evidence/probes.har; a failure's request is in `failures`
        data["pact"] = self.pact.as_json()
        for interaction in data["pact"]["interactions"]:
            interaction["status"] = self.status(interaction["check"])
        if self.scenarios is not None:
            data["scenarios"] = self.scenarios.as_json()
            for key in ("runs", "notRun", "notApplicable"):
                for run in data["scenarios"][key]:
                    run["status"] = self.status(run["check"])
        data.pop("observed")
        if self.observed is not None:
            answer = self.observed.answer_time
            data["latency"] = {
                **self.observed.latency,
                "check": answer.name,
                "status": self.status(answer.name),
                "evidence": self.observed.answer_evidence,
            }
            if self.observed.sent is not None:
                sent = self.observed.sent
                data["sentMessages"] = {**sent.as_json(), "status": self.status(sent.outcome().name)}
        judged = self.judgement.as_json()
        data["requirements"] = judged["requirements"]
        data["verifiedHow"] = self.judgement.how
        data["acceptedDeviations"] = judged["acceptedDeviations"]
        data["expiredDeviations"] = judged["expiredDeviations"]
        data["waiting"] = [
            {
                "check": p.name,
                "requirements": p.requirements,
                "resumeAt": p.waiting.resume_at,
                "expects": p.waiting.expects,
                "needs": p.waiting.needs,
                "resume": f"oir certify --resume {self.session}",
            }
            for p in self.waiting
            if p.waiting
        ]
        return data


def _start(servers: ServerGroup, server: ServerThread, what: str) -> ServerThread:
    if server.port:  # a fixed port: refuse clearly before uvicorn fails inside its thread
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is no obstacle
            try:
                probe.bind((server.host, server.port))
            except OSError as exc:
                raise CounterpartStartError(
                    f"cannot start {what} on port {server.port}: {exc.strerror or exc} (is the port in use?)"
                ) from exc
    try:
        return servers.start(server)
    except (ServerError, OSError) as exc:
        port = f" on port {server.port}" if server.port else ""
        raise CounterpartStartError(f"cannot start {what}{port}: {exc} (is the port in use?)") from exc


def _tc(response: httpx.Response) -> dict[str, Any]:
    """A vendor's test-control answer; a refusal fails the check that needed the day to pass, naming it."""
    if response.status_code >= 300:
        raise ProbeFailure(
            f"the vendor's test control refused {response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def _systems(profile: Profile, target: Target, relay: CallbackRelay) -> Iterator[tuple[str, Counterparts]]:
    """PSRM, the callback relay and (when simulated) the debtor system; yields the debtor's URL."""
    with ExitStack() as stack:
        stack.callback(relay.close)
        servers = stack.enter_context(ServerGroup())  # stopped together, before the relay closes
        fagsystem = _start(
            servers,
            ServerThread(relay.app, name="fagsystem", host=target.bind, port=target.callback_port),
            "the callback receiver",
        )
        psrm = _start(servers, simulator_server("psrm", host=target.bind, port=target.psrm_port), "PSRM")
        counterparts = Counterparts(  # what the vendor configures: the advertised URLs, else what is bound
            target.psrm_url or psrm.url, target.callback_url or fagsystem.url, target.callback_token, psrm.url
        )
        relay.url = counterparts.callback_url  # named in a failure when nothing arrived there
        if target.debtor_url:
            yield target.debtor_url, counterparts
            return
        debtor_server = simulator_server(
            "debtor",
            name=f"debtor-{profile.name}",
            log_level="error",  # the fuzzer sends invalid HTTP on purpose: keep uvicorn quiet about it
            profile=profile.name,
            psrm_url=psrm.url,
            callback_url=fagsystem.url,
            callback_token=target.callback_token,
            tokens=scoped_tokens({FOREIGN_TOKEN: tuple(m.cvr for m in for_vendor(profile.name)[1:])}),
        )
        debtor = _start(servers, debtor_server, "the simulator")
        yield debtor.url, counterparts


def certify_profile(
    profile_name: str,
    out: Path,
    *,
    seed: int,
    max_examples: int,
    callback_timeout: float = 20.0,
    target: Target | None = None,
    profile: Profile | None = None,
    profile_file: Path | None = None,
    now: datetime | None = None,
    announce: Callable[[Counterparts], None] | None = None,
    progress: Callable[[str], None] | None = None,
    scenarios: bool = False,
    park_until: datetime | None = None,
    data_salt: int | None = None,
    session_id: str = "",
    only: Collection[str] | None = None,
    settle_s: float = 1.0,
) -> CertificationResult:
    """Certify one profile. `profile`/`profile_file` replace the shipped profile file (tests, drafts);
    `now` is when the run happens (deviations are judged on its date); `announce` receives the
    counterparts' URLs before any check runs; `progress` is told each step as it starts; `only` runs
    just the checks it names (selection.py), the others not run; `settle_s` is how long the callback
    address stays up after the last check, to see (and report) what the vendor still sends.
    Against a vendor's system: with `park_until` a check that needs the next business day parks until
    then (the run is judged WAITING and `session_id` names it); `data_salt` salts the probes' people
    (default: a fresh one; keep it to resume)."""
    target = target or Target()
    profile = profile or load_profile(profile_name)
    if only:
        check_selection(only, profile.name, scenarios=scenarios)  # UnknownCheckError before anything starts
    out.mkdir(parents=True, exist_ok=True)
    started_at = now or datetime.now(UTC)  # real time: when the run happened
    started = time.monotonic()  # real time: how long the run took
    step = progress or (lambda _: None)
    municipalities = for_vendor(profile.name)
    relay = CallbackRelay(target.callback_token)
    session = f"certify-{uuid.uuid4().hex[:8]}"
    scenario_check = None
    absent = not_applicable(profile_capabilities(profile.name))  # requirements the profile rules out
    chosen = chooser(only)
    times = AnswerTimes()
    limit = profile.answer_time_limit_s
    wait = patience(limit)  # every harness timeout towards the debtor: a conforming slow answer is never lost
    with _systems(profile, target, relay) as (debtor_url, counterparts), ExitStack() as proxies:
        timing = proxies.enter_context(ServerGroup())  # the timing proxies, stopped together
        if announce:
            announce(counterparts)
        step("contract fuzzing (schemathesis, oir-debitor-v3)")
        har = Path(proxies.enter_context(tempfile.TemporaryDirectory(prefix="oir-fuzz-"))) / "schemathesis.har"

        def fuzz_now() -> FuzzResult:
            return run_schemathesis(
                vendor_contract(out / "oir-debitor-v3.vendor.yaml"),
                debtor_url,
                out,
                seed,
                max_examples,
                target.token,
                # the simulator keeps the fuzzer's accounts in a world of their own: no probe meets them
                f"{session}-fuzz" if target.simulated else session,
                request_timeout=wait,
                har=har,
                municipality_cvrs=tuple(m.cvr for m in for_vendor(profile.name)),
            )

        fuzzing: Future[FuzzResult] | None = None
        if not (chosen(FUZZ_CHECK) or any(chosen(f"{FUZZ_CHECK} {check}") for check in CHECK_REQUIREMENTS)):
            fuzz = FuzzResult(False, FUZZ_NOT_RUN, ONLY_REASON)
        elif target.simulated:
            # The fuzzer is a process of its own and the simulator's worlds are apart: it runs on the other
            # core while the probes, pacts and scenarios run here. A vendor's system has one world, so there
            # the fuzzing comes first and alone, as its answer times and accounts must not mix with the rest.
            fuzzing = proxies.enter_context(ThreadPoolExecutor(1, thread_name_prefix="fuzz")).submit(fuzz_now)
        else:
            fuzz = fuzz_now()

        # PSRM's session for the debtor's handovers: the run's own with the simulator, which passes its
        # session on; its default one with a vendor's system, which sends none
        psrm_session = session if target.simulated else PSRM_SESSION

        def follow_psrm(instant: datetime) -> None:
            """Put PSRM at `instant` (never back), so it lives on the debtor's business date."""
            psrm_url = counterparts.psrm_url
            clock = wire_client.control(psrm_url, "GET", "/clock", token=DEV_TOKEN, session=psrm_session)
            if datetime.fromisoformat(clock.raise_for_status().json()["now"]) < instant:
                wire_client.control(
                    psrm_url, "PUT", "/clock", token=DEV_TOKEN, session=psrm_session, body={"now": instant.isoformat()}
                ).raise_for_status()

        def advance(days: int) -> bool:
            """Move the debtor's clock: the simulator's virtual one, or a vendor's business date through its
            test control (PSRM first); False where there is none to move (a real system: real time)."""
            if target.test_control:
                tc = debtor_url + wire_client.TEST_CONTROL + "/forretningsdato"
                now = datetime.fromisoformat(_tc(httpx.get(tc, headers=_auth, timeout=wait))["tidspunkt"])
                follow_psrm(now + timedelta(days=days))
                _tc(httpx.post(tc + "/frem", json={"dage": days}, headers=_auth, timeout=max(wait, 120.0)))
                return True
            started = time.monotonic()  # real time: the answer time is evidence
            try:
                response = wire_client.control(
                    debtor_url,
                    "POST",
                    "/clock/advance",
                    token=target.token,
                    session=session,
                    body={"days": days},
                    timeout=wait,
                )
            except httpx.TimeoutException:
                times.record("POST", "/_sim/clock/advance", time.monotonic() - started, "control", answered=False)
                raise
            times.record("POST", "/_sim/clock/advance", time.monotonic() - started, "control")
            if target.simulated:
                response.raise_for_status()
                return True
            # a real system has no control plane: whatever it answers there (404, or a gateway's 401/403)
            return response.is_success

        _auth = wire_client.credentials(target.token)
        first_reminder = profile.reminders[0].after_days if profile.reminders else 0
        exchanges: list[dict[str, Any]] = []
        probes = run_probes(
            lambda: DebtorConversation(
                debtor_url,
                target.token,
                municipalities[0],
                session,
                exchanges,
                timeout=wait,
                transport=TimingTransport(times, "probes"),
            ),
            neighbour=municipalities[1] if len(municipalities) > 1 else None,
            b03=profile.capabilities.b03_payment,
            inbox=relay,
            simulated=target.simulated,
            test_control=target.test_control,
            offers_test_control=target.simulated or target.test_control,  # the simulator is its reference
            follow_psrm=follow_psrm,
            reminder_after_days=first_reminder,
            advance=advance,
            callback_timeout=callback_timeout,
            progress=lambda name: step(f"probe {name}"),
            data_salt=0 if target.simulated else data_salt if data_salt is not None else uuid.uuid4().int & 0xFFFFFFFF,
            park_until=park_until.isoformat(timespec="seconds") if park_until and not target.simulated else "",
            chosen=chosen,
            foreign_token=FOREIGN_TOKEN if target.simulated else target.foreign_token,
        )
        probes = [replace(p, requirements=[r for r in p.requirements if r not in absent]) for p in probes]
        step(f"consumer pacts ({', '.join(debtor_consumers(profile))} → oir-debitor-v3)")
        pact_proxy = _timing_proxy(timing, debtor_url, times, "pact", wait)
        pact = pacts_left_out(profile, only) or verify_debtor_pacts(
            profile,
            pact_proxy.url,  # the verifier's calls, timed on their way to the debtor system
            target.token,
            municipality_cvr=municipalities[0].cvr,
            session=f"{session}-pact",  # a world of its own: the pacts' accounts meet no probe's
            log=out / "pact-verification.log",
            request_timeout_s=wait,
            shown_url=debtor_url,
            advance=advance if target.test_control else None,  # a state's day passes by the vendor's test control
        )
        for interaction in pact.interactions:
            interaction.requirements = [r for r in interaction.requirements if r not in absent]
            if interaction.ran and not chosen(interaction.check):
                interaction.passed, interaction.ran, interaction.evidence = False, False, [ONLY_REASON]
        if scenarios:
            step("scenarios (the profile's bundled suite, end to end)")
            vendor = None
            if not target.simulated:  # the vendor's system meets FBS, the payment solution and the engine
                vendor = VendorSystem(
                    profile.name,
                    _timing_proxy(timing, debtor_url, times, "scenarios", wait).url,  # the engine's calls, timed
                    target.token,
                    target.callback_token,
                    counterparts.psrm_url,
                    relay,
                    timeout_s=wait,
                    test_control=target.test_control,
                )
            scenario_check = run_profile_scenarios(profile.name, out, vendor=vendor, absent=absent, chosen=chosen)
        if fuzzing is not None:
            fuzz = fuzzing.result()
        times.record_har(har)
        har.unlink(missing_ok=True)  # only the times are kept: the bodies hold the fuzzer's unmasked CPRs
        ended = time.monotonic()  # real time: what the vendor sends from now on came after the checks
        if target.simulated:  # the simulator says what it still has to send: wait for that, not a fixed while
            _callbacks_sent(debtor_url, target.token, [session, f"{session}-pact", f"{session}-fuzz"], settle_s * 15)
        else:
            time.sleep(settle_s)  # an observation window, not a synchronisation: the callback address stays up
        psrm_sessions = ["default"] if not target.simulated else [session, f"{session}-pact"]
        sent = judge_sent(
            relay.received(),
            own_cvrs={m.cvr for m in municipalities},
            claims=_registered(exchanges),
            ended_at=ended,
            psrm_deliveries=_psrm_deliveries(counterparts.psrm_url, psrm_sessions),
        )
    write_har(exchanges, out / "evidence" / "probes.har")
    write_journal(relay, out / "evidence" / "callbacks.json")
    answer_time, answer_evidence = times.check(limit)
    observed = Observed(times.summary(limit), answer_time, answer_evidence, sent)
    checks = deselect(check_outcomes(fuzz, probes, pact, scenario_check, observed), only)
    judgement = judge(
        checks,
        profile.deviations,
        started_at.date(),
        not_applicable=absent,
        how=SIMULATOR_TIME if target.simulated else TEST_CLOCK if target.test_control else REAL_TIME,
        uncited=uncited_reasons(profile.name, checks, scenarios_ran=scenarios, absent=absent),
        unverifiable={} if target.simulated else vendor_unverified(),
    )
    return CertificationResult(
        profile=profile.name,
        product=profile.product,
        target=f"simulator ({debtor_url})" if target.simulated else debtor_url,
        seed=seed,
        contract_digest=spec_digest("oir-debitor-v3"),
        started=started_at.isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - started, 1),  # real time
        fuzz=fuzz,
        probes=probes,
        debtor_url=debtor_url,
        simulated=target.simulated,
        judgement=judgement,
        profile_file=profile_file or profile_path(profile.name),
        pact=pact,
        scenarios=scenario_check,
        session=session_id,
        observed=observed,
    )


def resume_certification(
    profile_name: str,
    out: Path,
    *,
    parts: RunParts,  # every check of the session so far
    target: Target,
    started: str,
    seconds: float,
    seed: int,
    data_salt: int,
    session_id: str,
    now: datetime,
    callback_timeout: float = 20.0,
    park_until: datetime | None = None,
    announce: Callable[[Counterparts], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CertificationResult:
    """Continue a session on a later day: the counterparts listen again on the session's addresses (the
    vendor's retried or nightly callbacks arrive), each parked check runs its second half (which may
    park again until `park_until`), and the whole session is judged as of `now`."""
    profile = load_profile(profile_name)
    out.mkdir(parents=True, exist_ok=True)
    begun = time.monotonic()  # real time: how long the resumed part took
    step = progress or (lambda _: None)
    municipalities = for_vendor(profile.name)
    relay = CallbackRelay(target.callback_token)
    absent = not_applicable(profile_capabilities(profile.name))
    exchanges: list[dict[str, Any]] = []
    with _systems(profile, target, relay) as (debtor_url, counterparts):
        if announce:
            announce(counterparts)
        probes = resume_probes(
            lambda: DebtorConversation(debtor_url, target.token, municipalities[0], session_id, exchanges),
            parts.probes,
            progress=lambda name: step(f"probe {name} (resumed)"),
            data_salt=data_salt,
            inbox=relay,
            callback_timeout=callback_timeout,
            park_until=park_until.isoformat(timespec="seconds") if park_until else "",
        )
    write_har(exchanges, out / "evidence" / "probes-resumed.har")
    judgement = judge(
        check_outcomes(parts.fuzz, probes, parts.pact, parts.scenarios),
        profile.deviations,
        now.date(),
        not_applicable=absent,
        how=REAL_TIME,
    )
    return CertificationResult(
        profile=profile.name,
        product=profile.product,
        target=debtor_url,
        seed=seed,
        contract_digest=spec_digest("oir-debitor-v3"),
        started=started,
        seconds=round(seconds + time.monotonic() - begun, 1),
        fuzz=parts.fuzz,
        probes=probes,
        debtor_url=debtor_url,
        simulated=False,
        judgement=judgement,
        profile_file=profile_path(profile.name),
        pact=parts.pact,
        scenarios=parts.scenarios,
        session=session_id,
        resumed=rfc3339(now),
    )


def _callbacks_sent(debtor_url: str, token: str, sessions: list[str], timeout: float) -> None:
    """Wait (with a deadline) until the simulated debtor holds no due callback it has not tried in any of the
    run's sessions: all it will send without its clock moving has then reached the callback address (a
    simulator sends nothing later of its own accord, so this replaces a vendor's observation window)."""
    deadline = time.monotonic() + timeout  # real time: callbacks are real HTTP requests
    with httpx.Client(base_url=debtor_url, timeout=10.0, verify=wire_client.tls()) as client:
        for name in sessions:
            headers = wire_client.credentials(token, name)
            clock = client.get(wire_client.control_path("/clock"), headers=headers)
            if clock.status_code != 200:
                continue
            now = datetime.fromisoformat(clock.json()["now"])  # the session's virtual time: what is due by now
            while time.monotonic() < deadline:
                answer = client.get("/simulering/callbacks", headers=headers)
                if answer.status_code != 200 or not unsent_due_callbacks(answer.json(), now):
                    break
                time.sleep(0.02)


def _timing_proxy(servers: ServerGroup, upstream: str, times: AnswerTimes, source: str, wait: float) -> ServerThread:
    """A pass-through proxy on 127.0.0.1 that times every answer of `upstream` (latency.TimingProxy)."""
    proxy = TimingProxy(upstream, times, source, timeout=wait)
    server = ServerThread(proxy, name=f"timing-{source}", log_level="error")
    return _start(servers, server, f"the {source} timing proxy")


def _psrm_deliveries(psrm_url: str, sessions: list[str]) -> list[Any]:
    """The bodies of the deliveries (MFFordringIndberet) the harness's PSRM received in these sessions."""
    bodies: list[Any] = []
    for name in sessions:
        try:
            answer = wire_client.control(
                psrm_url,
                "GET",
                "/journal",
                token=DEV_TOKEN,
                session=name,
                params={"operation": "MFFordringIndberet", "direction": "in"},
            )
            answer.raise_for_status()
            entries = answer.json().get("entries", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise CounterpartStartError(f"cannot read the harness's PSRM journal: {exc}") from exc
        bodies += [e.get("request_body") for e in entries if isinstance(e, dict)]
    return bodies


def _registered(exchanges: list[dict[str, Any]]) -> dict[str, str]:
    """Claim and account id -> the municipality (CVR) the probes registered it for."""
    owners: dict[str, str] = {}
    for record in exchanges:
        body = record.get("request_body")
        if record.get("method") != "POST" or not isinstance(body, dict) or "debitorkontoId" not in body:
            continue
        headers = {str(k).lower(): v for k, v in (record.get("request_headers") or {}).items()}
        cvr = headers.get(wire_client.MUNICIPALITY_CVR.lower())
        if not cvr:
            continue
        owners[str(body["debitorkontoId"])] = cvr
        for claim in body.get("fordringer") or []:
            if isinstance(claim, dict) and "fordringId" in claim:
                owners[str(claim["fordringId"])] = cvr
    return owners
