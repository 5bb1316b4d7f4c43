"""One certification run of a debtor-system profile, against its simulator or a vendor's system.

It starts what the debtor system talks to (PSRM and the fagsystem's callback address, the relay) — on
fixed ports if asked, so a vendor can configure them —, fuzzes the debtor system with the vendor-facing
`oir-debitor-v3` contract through the schemathesis command line (all checks, seeded, bounded), runs the
conformance probes, replays the consumer pacts that apply to the profile (pacts.py), runs the profile's
scenarios end to end with FBS, the payment solution and a real engine per scenario behind the relay
(scenarios.py), and judges, taking the profile's accepted deviations into account (judge.py).
A requirement the profile's capabilities rule out (`contracts.requirements.not_applicable`: B_03 for
EG) is cited by no check of the run — a probe proving B_03 absent cites the absence's own requirement,
not the B_03 ones — and is reported as not applicable, never as passed.
With no URL it starts the profile's own simulator, wired to those counterparts. The simulators it runs
(PSRM, that debtor) come from harness/topology.py: nothing under harness/certification/ imports them.
The result is built once, after judging: `CertificationResult` has its judgement from the start.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts import wire_client
from contracts.checks.fuzz import FuzzResult, run_schemathesis, vendor_contract
from contracts.municipalities import for_vendor
from contracts.profile import Profile, load_profile, profile_capabilities, profile_path
from contracts.requirements import not_applicable
from contracts.specs import spec_digest
from scenarios.reporters import write_har

from ..callback_relay import CallbackRelay
from ..scenario_world import PSRM_SESSION, VendorSystem
from ..servers import ServerError, ServerThread
from ..topology import simulator_server
from .errors import CounterpartStartError
from .judge import NOT_CERTIFIED, REAL_TIME, SIMULATOR_TIME, TEST_CLOCK, CheckOutcome, Judgement, judge
from .pacts import PactPart, debtor_consumers, verify_debtor_pacts
from .probes import PROBES, DebtorConversation, ProbeFailure, ProbeResult, run_probes
from .scenarios import ScenarioCheck, run_profile_scenarios
from .target import CALLBACK_TOKEN, DEV_TOKEN, Counterparts, Target

STEPS = 3 + len(PROBES)  # the contract fuzzing, each probe, the consumer pacts, the scenarios: for progress bars
__all__ = [
    "CALLBACK_TOKEN",
    "STEPS",
    "CertificationResult",
    "FuzzResult",
    "certify_profile",
    "run_schemathesis",
    "vendor_contract",
]


def check_outcomes(
    fuzz: FuzzResult, probes: list[ProbeResult], pact: PactPart, scenarios: ScenarioCheck | None
) -> list[CheckOutcome]:
    """Every check of a run, in report order: its name, the requirement IDs it cites, whether it
    passed, and whether it ran at all (a check this target could not run is never a pass)."""
    return (
        [CheckOutcome("schemathesis", tuple(fuzz.requirements), fuzz.passed)]
        + [
            CheckOutcome(p.name, tuple(p.requirements), p.passed, p.ran, reason="" if p.ran else p.message)
            for p in probes
        ]
        + [
            CheckOutcome(i.check, tuple(i.requirements), i.passed, i.ran, reason="" if i.ran else "; ".join(i.evidence))
            for i in pact.interactions
        ]
        + (scenarios.outcomes() if scenarios else [])
    )


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

    def outcomes(self) -> list[CheckOutcome]:
        """Every check of the run, in report order (see `check_outcomes`)."""
        return check_outcomes(self.fuzz, self.probes, self.pact, self.scenarios)

    def checks(self) -> list[tuple[str, list[str]]]:
        """Every check of the run with the requirement IDs it cites, in report order."""
        return [(o.name, list(o.requirements)) for o in self.outcomes()]

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def certified(self) -> bool:
        """Certified, with or without accepted deviations."""
        return self.verdict != NOT_CERTIFIED

    def status(self, check: str) -> str:
        """passed, failed, accepted-deviation, not-run or not-applicable, for a check's name
        ('schemathesis', a probe's …)."""
        return self.judgement.statuses.get(check, "failed")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("judgement")
        data.pop("profile_file")
        data["certified"] = self.certified
        data["verdict"] = self.verdict
        data["fuzz"]["status"] = self.status("schemathesis")
        for probe in data["probes"]:
            probe["status"] = self.status(probe["name"])
        data["pact"] = self.pact.as_json()
        for interaction in data["pact"]["interactions"]:
            interaction["status"] = self.status(interaction["check"])
        if self.scenarios is not None:
            data["scenarios"] = self.scenarios.as_json()
            for key in ("runs", "notRun", "notApplicable"):
                for run in data["scenarios"][key]:
                    run["status"] = self.status(run["check"])
        judged = self.judgement.as_json()
        data["requirements"] = judged["requirements"]
        data["verifiedHow"] = self.judgement.how
        data["acceptedDeviations"] = judged["acceptedDeviations"]
        data["expiredDeviations"] = judged["expiredDeviations"]
        return data


def _start(stack: ExitStack, server: ServerThread, what: str) -> ServerThread:
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
        return stack.enter_context(server)
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
        fagsystem = _start(
            stack, ServerThread(relay.app, name="fagsystem", port=target.callback_port), "the callback receiver"
        )
        psrm = _start(stack, simulator_server("psrm", port=target.psrm_port), "PSRM")
        counterparts = Counterparts(psrm.url, fagsystem.url, target.callback_token)
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
        )
        debtor = _start(stack, debtor_server, "the simulator")
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
) -> CertificationResult:
    """Certify one profile. `profile`/`profile_file` replace the shipped profile file (tests, drafts);
    `now` is when the run happens (deviations are judged on its date); `announce` receives the
    counterparts' URLs before any check runs; `progress` is told each step as it starts."""
    target = target or Target()
    profile = profile or load_profile(profile_name)
    out.mkdir(parents=True, exist_ok=True)
    started_at = now or datetime.now(UTC)  # real time: when the run happened
    started = time.monotonic()  # real time: how long the run took
    step = progress or (lambda _: None)
    municipalities = for_vendor(profile.name)
    relay = CallbackRelay(target.callback_token)
    session = f"certify-{uuid.uuid4().hex[:8]}"
    scenario_check = None
    absent = not_applicable(profile_capabilities(profile.name))  # requirements the profile rules out
    with _systems(profile, target, relay) as (debtor_url, counterparts):
        if announce:
            announce(counterparts)
        step("contract fuzzing (schemathesis, oir-debitor-v3)")
        fuzz = run_schemathesis(
            vendor_contract(out / "oir-debitor-v3.vendor.yaml"),
            debtor_url,
            out,
            seed,
            max_examples,
            target.token,
            session,
        )

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
                now = datetime.fromisoformat(_tc(httpx.get(tc, headers=_auth, timeout=30))["tidspunkt"])
                follow_psrm(now + timedelta(days=days))
                _tc(httpx.post(tc + "/frem", json={"dage": days}, headers=_auth, timeout=120))
                return True
            response = wire_client.control(
                debtor_url,
                "POST",
                "/clock/advance",
                token=target.token,
                session=session,
                body={"days": days},
                timeout=30,
            )
            if target.simulated:
                response.raise_for_status()
                return True
            # a real system has no control plane: whatever it answers there (404, or a gateway's 401/403)
            return response.is_success

        _auth = wire_client.credentials(target.token)
        first_reminder = profile.reminders[0].after_days if profile.reminders else 0
        exchanges: list[dict[str, Any]] = []
        probes = run_probes(
            lambda: DebtorConversation(debtor_url, target.token, municipalities[0], session, exchanges),
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
            data_salt=0 if target.simulated else uuid.uuid4().int & 0xFFFFFFFF,
        )
        probes = [replace(p, requirements=[r for r in p.requirements if r not in absent]) for p in probes]
        step(f"consumer pacts ({', '.join(debtor_consumers(profile))} → oir-debitor-v3)")
        pact = verify_debtor_pacts(
            profile,
            debtor_url,
            target.token,
            municipality_cvr=municipalities[0].cvr,
            session=f"{session}-pact",  # a world of its own: the pacts' accounts meet no probe's
            log=out / "pact-verification.log",
            advance=advance if target.test_control else None,  # a state's day passes by the vendor's test control
        )
        for interaction in pact.interactions:
            interaction.requirements = [r for r in interaction.requirements if r not in absent]
        if scenarios:
            step("scenarios (the profile's bundled suite, end to end)")
            vendor = None
            if not target.simulated:  # the vendor's system meets FBS, the payment solution and the engine
                vendor = VendorSystem(
                    profile.name,
                    debtor_url,
                    target.token,
                    target.callback_token,
                    counterparts.psrm_url,
                    relay,
                    test_control=target.test_control,
                )
            scenario_check = run_profile_scenarios(profile.name, out, vendor=vendor, absent=absent)
    write_har(exchanges, out / "evidence" / "probes.har")
    judgement = judge(
        check_outcomes(fuzz, probes, pact, scenario_check),
        profile.deviations,
        started_at.date(),
        not_applicable=absent,
        how=SIMULATOR_TIME if target.simulated else TEST_CLOCK if target.test_control else REAL_TIME,
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
    )
