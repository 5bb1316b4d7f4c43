"""What `oir certify` and `oir verify-certificate` do, kept out of cli.py so the command line stays a
thin list of options. Each function returns the exit code: 0 certified/valid, 1 not, 2 usage error
or a run that could not exercise the system (contract fuzzing whose every request was refused with
401/403), 3 a certification session waits (a check resumes on the next bank day: `oir certify --resume
SESSION`, sessions.py); each with one line saying what went wrong, never a traceback.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.panel import Panel

from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES, load_profile

from ..command_options import writable
from .certificate import read_certificate, rfc3339, verify
from .console_report import certify_progress, concurrent_progress, print_result, print_table
from .errors import CertificationError
from .judge import CERTIFIED, CERTIFIED_WITH_DEVIATIONS, NOT_CERTIFIED, WAITING
from .keys import harness_key, key_id, oir_home, public_pem, signing_key, trusted_key_and_origin
from .latency import patience
from .preflight import PreflightError, callback_note, check_callback, check_debtor
from .run import CertificationResult, certify_profile, resume_certification
from .selection import check_selection, last_failed
from .sessions import (
    ABANDONED,
    COMPLETED,
    SESSION_DAYS,
    CertificationSession,
    RunParts,
    SessionError,
    SessionNotReady,
    SessionStore,
    expiry,
    new_session_id,
    resume_time,
)
from .target import (
    CALLBACK_TOKEN,
    DEV_TOKEN,
    Counterparts,
    Target,
    check_reachable,
    check_test_control,
    check_url,
    is_loopback,
    is_wildcard,
)

EXIT_WAITING = 3  # a session waits for the next bank day: neither certified nor failed yet


@dataclass(frozen=True)
class CertifyOptions:
    profiles: list[str]
    out: Path
    seed: int
    max_examples: int
    debtor_url: str | None
    debtor_token: str | None
    callback_token: str
    callback_port: int
    psrm_port: int
    callback_timeout: float
    signing_key: str | None
    validity_days: int
    scenarios: bool = True  # run the profile's bundled scenarios (against a vendor: those that can meet one)
    wait: bool = True  # against a vendor: a check that needs the next business day parks (a waiting session)
    resume: str | None = None  # continue this waiting session instead of starting one
    resume_early: bool = False  # resume before the session's resume time
    new_session: bool = False  # start anew although a session of this profile and system waits (abandons it)
    bind: str = "127.0.0.1"  # where PSRM and the callback receiver listen
    callback_url: str | None = None  # the callback receiver's URL as the vendor's system reaches it
    psrm_url: str | None = None  # PSRM's URL as the vendor's system reaches it
    only: tuple[str, ...] = ()  # run only these checks (names or patterns; selection.py)
    last_failed: bool = False  # … and those that failed in the profile's last report
    foreign_token: str | None = None  # a credential of another municipality or fagsystem (vendor mode)
    test_control: bool = False  # the vendor's test system offers oir-testkontrol-v1 (--test-control)


def _usage(console: Console, message: str) -> int:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return 2


def run_certify(console: Console, options: CertifyOptions, now: datetime) -> int:
    """`now` is the injected clock's reading: when the run happens (deviations, sessions' resume times)."""
    if options.resume:
        return _run_resume(console, options, now)
    if options.resume_early:
        return _usage(console, "--resume-early only goes with --resume SESSION")
    chosen = options.profiles or list(PROFILE_NAMES)
    unknown = [name for name in chosen if name not in PROFILE_NAMES]
    if unknown:
        return _usage(console, f"unknown profile {', '.join(unknown)}; known: {', '.join(PROFILE_NAMES)}")
    if options.debtor_url and len(chosen) != 1:
        return _usage(
            console,
            f"--debtor-url needs exactly one --profile (the one the vendor's system implements), got {len(chosen)}",
        )
    if options.callback_port and options.callback_port == options.psrm_port:
        return _usage(console, f"--callback-port and --psrm-port are both {options.callback_port}")
    problem = _addresses_problem(options)
    if problem:
        return _usage(console, problem)
    if options.test_control and not options.debtor_url:
        return _usage(console, "--test-control is a vendor's declaration: it needs --debtor-url")
    if options.debtor_url and (options.callback_token or CALLBACK_TOKEN) == CALLBACK_TOKEN:
        # public (it is in this source): refused where a network reaches the receiver, loud where only this machine
        if not is_loopback(options.bind) or options.callback_url:
            return _usage(console, _PUBLIC_TOKEN + "; give your own with OIR_CALLBACK_TOKEN or --callback-token-file")
        console.print(
            f"[yellow]warning:[/yellow] {_PUBLIC_TOKEN}; acceptable only because the callback receiver "
            f"listens on {options.bind} (this machine alone). Give your own with OIR_CALLBACK_TOKEN.",
            soft_wrap=True,
        )
    writable(options.out, "--out", folder=True)
    selections: dict[str, list[str] | None] = {}
    try:
        for name in chosen:
            selections[name] = _selection(options, name)
    except CertificationError as exc:
        return _usage(console, str(exc))
    try:
        callback_url = check_url(options.callback_url, "--callback-url") if options.callback_url else None
        psrm_url = check_url(options.psrm_url, "--psrm-url") if options.psrm_url else None
        key = signing_key(options.signing_key)
        # a slow system is not an unreachable one: the first answer may take what the profile allows
        wait = httpx.Timeout(patience(load_profile(chosen[0]).answer_time_limit_s), connect=10.0)
        url = check_reachable(options.debtor_url, timeout=wait) if options.debtor_url else None
        if url and options.test_control:
            business_date = check_test_control(url, options.debtor_token or DEV_TOKEN)
            console.print(f"test control: the vendor's business date is {business_date}; it will move forward")
    except CertificationError as exc:
        return _usage(console, str(exc))
    store = SessionStore(oir_home()) if url else None
    if store is not None and url:
        waiting = store.waiting(chosen[0], url, now)
        if waiting and not options.new_session:
            session = waiting[0]
            return _usage(
                console,
                f"certification session {session.id} of {session.profile} at {url} is waiting: "
                f"{session.describe_waiting()}. Resume it with `oir certify --resume {session.id}` "
                f"(it expires {session.expires}), or start over with --new-session (which abandons it)",
            )
        for session in waiting:
            session.status = ABANDONED
            store.save(session)
            console.print(f"certification session {session.id} abandoned for a new one (--new-session)")
    target = _target(options, url, options.callback_port, options.psrm_port, callback_url, psrm_url)
    verdicts = []
    done = []
    run_errors: list[str] = []
    for name in chosen:
        if selections[name] == []:
            console.print(f"{name}: nothing failed in the last report ({options.out / name}); nothing to re-run")
    chosen = [name for name in chosen if selections[name] != []]
    side_by_side: dict[str, CertificationResult | Exception] = {}
    if _concurrently(options, target, chosen):
        side_by_side = _certify_side_by_side(console, options, target, chosen, selections, now)
    for name in chosen:
        from .report import write_report

        folder = options.out / name
        only = selections[name]
        try:
            if name in side_by_side:
                outcome = side_by_side[name]
                if isinstance(outcome, Exception):
                    raise outcome
                result = outcome
            else:
                result = _certify_one(console, options, target, name, only, url, store, now)
            certificate = write_report(result, folder, key=key, validity_days=options.validity_days)
            if only is not None and certificate is not None:  # a partial run: its report, no certificate
                certificate.unlink(missing_ok=True)
                certificate = None
        except PreflightError as exc:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # nothing ran: leave no empty report folder behind
            return _usage(console, f"preflight: {exc}")
        except CertificationError as exc:
            return _usage(console, str(exc))
        verdicts.append(result.verdict)
        done.append(result)
        print_result(console, result, folder, certificate, partial=only)
        if result.fuzz.error:  # the fuzzing could not exercise the system (e.g. every request refused with 401)
            console.print(
                f"error: {name}: contract fuzzing (schemathesis): {result.fuzz.error}", soft_wrap=True, markup=False
            )
            run_errors.append(result.fuzz.error)
        if result.observed is not None:
            console.print(f"  answer times: {_latency_line(result.observed.latency)}", soft_wrap=True, markup=False)
        _waiting_note(console, result)
    print_table(console, done)
    if run_errors:
        return 2  # the run could not judge the system: never a pass, and nothing the vendor's system did
    return _exit_code(verdicts)


def _run_options(options: CertifyOptions, now: datetime) -> dict[str, Any]:
    """`certify_profile`'s options that are the same for every profile of the run."""
    return {
        "seed": options.seed,
        "max_examples": options.max_examples,
        "callback_timeout": options.callback_timeout,
        "now": now,
        "scenarios": options.scenarios,
        "park_until": resume_time(now) if options.wait else None,
    }


def _certify_one(
    console: Console,
    options: CertifyOptions,
    target: Target,
    name: str,
    only: list[str] | None,
    url: str | None,
    store: SessionStore | None,
    now: datetime,
) -> CertificationResult:
    """One profile in this process, its progress shown as it goes (and, against a vendor, its session kept)."""
    folder = options.out / name
    if url:  # preflight: the token is accepted, before anything starts
        check_debtor(url, target.token, for_vendor(name)[0].cvr)
    seen: list[Counterparts] = []

    def announce(counterparts: Counterparts) -> None:
        seen.append(counterparts)
        _announce(console, counterparts, target)

    salt = uuid.uuid4().int & 0xFFFFFFFF
    session_id = new_session_id(name, now) if store is not None else ""
    with certify_progress(console, name) as step:
        result = certify_profile(
            name,
            folder,
            **_run_options(options, now),
            target=target,
            announce=None if target.simulated else announce,
            progress=step,
            data_salt=salt,
            session_id=session_id,
            only=only,
        )
    if store is not None and seen:
        store.save(_new_session(result, options, folder, seen[0], salt, now))
    return result


SIDE_BY_SIDE = 2  # profiles certified at once: one process each, as many as the two cores this is sized for


def _concurrently(options: CertifyOptions, target: Target, chosen: list[str]) -> bool:
    """Profiles are certified side by side when their worlds are independent: simulated (each starts its
    own simulators, engine and callback receiver on free ports), more than one, no fixed port asked for."""
    return target.simulated and len(chosen) > 1 and not options.callback_port and not options.psrm_port


def _certify_in_child(
    certify: Callable[..., CertificationResult], name: str, folder: Path, kwargs: dict[str, Any], steps: Any
) -> CertificationResult:
    """A profile's certification in a process of its own; its steps go to the parent's progress display.
    (`certify` is `certify_profile`, passed by name, so that what replaces it in this module is what runs.)"""
    return certify(name, folder, **kwargs, progress=lambda description: steps.put((name, description)))


def _freeze_at_exit() -> None:
    """A profile's process, as it ends, spares the interpreter's last walk of every object (as `oir` does)."""
    import atexit
    import gc

    atexit.register(gc.freeze)


def _certify_side_by_side(
    console: Console,
    options: CertifyOptions,
    target: Target,
    chosen: list[str],
    selections: dict[str, list[str] | None],
    now: datetime,
) -> dict[str, CertificationResult | Exception]:
    """Every chosen profile, `SIDE_BY_SIDE` at a time in processes of their own (a certification is mostly
    Python in one process: a second core only helps a second process); each profile's result or the
    error it raised. The caller reports them in the profiles' order, as a serial run does."""
    import multiprocessing
    import queue
    from concurrent.futures import Future, ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no inherited threads, servers or open sockets
    outcomes: dict[str, CertificationResult | Exception] = {}
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(SIDE_BY_SIDE, mp_context=context, initializer=_freeze_at_exit) as pool,
    ):
        steps = manager.Queue()
        futures: dict[str, Future[CertificationResult]] = {}
        for name in chosen:
            kwargs = {**_run_options(options, now), "target": target, "only": selections[name], "data_salt": 0}
            futures[name] = pool.submit(_certify_in_child, certify_profile, name, options.out / name, kwargs, steps)
        with concurrent_progress(console, chosen) as step:
            while not all(future.done() for future in futures.values()):
                try:
                    step(*steps.get(timeout=0.2))
                except queue.Empty:
                    pass
            while not steps.empty():
                step(*steps.get())
        for name, future in futures.items():
            error = future.exception()
            outcomes[name] = error if isinstance(error, Exception) else future.result()
    return outcomes


def _exit_code(verdicts: list[str]) -> int:
    if NOT_CERTIFIED in verdicts:
        return 1
    return EXIT_WAITING if WAITING in verdicts else 0


def _port(url: str) -> int:
    return urlsplit(url).port or 0


def _new_session(
    result: CertificationResult,
    options: CertifyOptions,
    folder: Path,
    counterparts: Counterparts,
    salt: int,
    now: datetime,
) -> CertificationSession:
    """The run as a session: waiting if a check parked, else complete (kept as the record of the run)."""
    return CertificationSession(
        id=result.session,
        profile=result.profile,
        debtor_url=result.debtor_url,
        report=str(folder.resolve()),
        created=rfc3339(now),
        expires=rfc3339(expiry(now)),
        status="waiting" if result.waiting else COMPLETED,
        seed=options.seed,
        max_examples=options.max_examples,
        callback_timeout=options.callback_timeout,
        callback_port=_port(counterparts.callback_url),  # what the vendor configured: the same on resume
        psrm_port=_port(counterparts.psrm_url),
        scenarios=options.scenarios,
        data_salt=f"{salt:08x}",
        started=result.started,
        seconds=result.seconds,
        parts=RunParts(result.fuzz, result.probes, result.pact, result.scenarios),
    )


def _run_resume(console: Console, options: CertifyOptions, now: datetime) -> int:
    """`oir certify --resume SESSION`: the parked checks' second halves, then the whole session judged."""
    from .report import write_report

    store = SessionStore(oir_home())
    try:
        session = store.resumable(str(options.resume), now, early=options.resume_early)
    except SessionNotReady as exc:
        console.print(f"[yellow]not ready:[/yellow] {exc}", soft_wrap=True)
        return EXIT_WAITING
    except SessionError as exc:
        return _usage(console, str(exc))
    if options.profiles and options.profiles != [session.profile]:
        return _usage(console, f"session {session.id} certifies {session.profile}, not {', '.join(options.profiles)}")
    if options.debtor_url and options.debtor_url.rstrip("/") != session.debtor_url:
        return _usage(
            console, f"session {session.id} certifies the system at {session.debtor_url}, not {options.debtor_url}"
        )
    try:
        key = signing_key(options.signing_key)
        url = check_reachable(session.debtor_url)
        callback_url = check_url(options.callback_url, "--callback-url") if options.callback_url else None
        psrm_url = check_url(options.psrm_url, "--psrm-url") if options.psrm_url else None
    except CertificationError as exc:
        return _usage(console, str(exc))
    # the same addresses as the first half when given again: the vendor's system was configured with them
    target = _target(options, url, session.callback_port, session.psrm_port, callback_url, psrm_url)
    folder = Path(session.report)
    console.print(f"resuming certification session {session.id}: {session.describe_waiting()}", soft_wrap=True)
    try:
        result = resume_certification(
            session.profile,
            folder,
            parts=session.parts,
            target=target,
            started=session.started,
            seconds=session.seconds,
            seed=session.seed,
            data_salt=int(session.data_salt, 16),
            session_id=session.id,
            now=now,
            callback_timeout=session.callback_timeout,
            park_until=resume_time(now),
            announce=lambda c: _announce(console, c, target),
            progress=lambda step: console.print(f"  {step}"),
        )
        session.parts = RunParts(result.fuzz, result.probes, result.pact, result.scenarios)
        session.resumed.append(rfc3339(now))
        session.seconds = result.seconds
        session.status = "waiting" if result.waiting else COMPLETED
        store.save(session)
        certificate = write_report(result, folder, key=key, validity_days=options.validity_days)
    except CertificationError as exc:
        return _usage(console, str(exc))
    print_result(console, result, folder, certificate)
    _waiting_note(console, result)
    print_table(console, [result])
    return _exit_code([result.verdict])


def _target(
    options: CertifyOptions,
    url: str | None,
    callback_port: int,
    psrm_port: int,
    callback_url: str | None,
    psrm_url: str | None,
) -> Target:
    """What a run (or a resumed session) certifies and where it listens: tokens, bind address, ports and
    the URLs the vendor's system was told."""
    return Target(
        debtor_url=url,
        token=options.debtor_token or DEV_TOKEN,
        callback_token=options.callback_token or CALLBACK_TOKEN,
        callback_port=callback_port,
        psrm_port=psrm_port,
        bind=options.bind,
        callback_url=callback_url,
        psrm_url=psrm_url,
        foreign_token=options.foreign_token,
        test_control=options.test_control,
    )


def _waiting_note(console: Console, result: CertificationResult) -> None:
    """While a check of the session waits: which, until when, and how to resume."""
    waiting = result.waiting
    if not waiting:
        return
    when = min(p.waiting.resume_at for p in waiting if p.waiting)
    console.print(
        f"  {len(waiting)} check(s) wait for the next bank day: "
        + ", ".join(f"{p.name} (until {p.waiting.resume_at})" for p in waiting if p.waiting)
        + f". Nothing waiting counts as passed. Resume at or after {when} with:\n"
        f"    oir certify --resume {result.session}\n"
        f"  (give the same --debtor-token/--callback-token, and --bind/--callback-url/--psrm-url if used, again;"
        f" the session expires after {SESSION_DAYS} days)",
        soft_wrap=True,
        markup=False,
    )


_PUBLIC_TOKEN = (
    f"the callback token is the public default {CALLBACK_TOKEN!r}: anyone who can reach the callback receiver "
    "could post DækningAfskrivning messages into this certification as if the vendor's system had sent them"
)


def _addresses_problem(options: CertifyOptions) -> str | None:
    """What is wrong with the bind address and the advertised URLs, if anything."""
    try:
        socket.getaddrinfo(options.bind, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return f"--bind {options.bind!r} is no address to listen on: {exc}"
    advertised = [("--callback-url", options.callback_url, "--callback-port", options.callback_port)]
    advertised.append(("--psrm-url", options.psrm_url, "--psrm-port", options.psrm_port))
    for option, url, port_option, port in advertised:
        if url and not options.debtor_url:
            return f"{option} is the address a vendor's system reaches; it needs --debtor-url"
        if url and not port:
            return f"{option} needs {port_option}: the fixed port the harness listens on behind that URL"
    if options.debtor_url and is_wildcard(options.bind) and not (options.callback_url and options.psrm_url):
        return (
            f"--bind {options.bind or '0.0.0.0'} listens on every interface: say at which URLs the vendor's "
            "system reaches the harness with --callback-url and --psrm-url (OIR_CALLBACK_URL, OIR_PSRM_URL)"
        )
    return None


def _selection(options: CertifyOptions, profile: str) -> list[str] | None:
    """The checks to run for `profile` (None: all): --only's and, with --last-failed, those that failed
    in its last report; [] when --last-failed alone finds nothing that failed."""
    if not options.only and not options.last_failed:
        return None
    if options.only:
        check_selection(options.only, profile, scenarios=options.scenarios)
    failed = last_failed(options.out / profile) if options.last_failed else []
    return [*options.only, *failed]


def _latency_line(latency: dict[str, Any]) -> str:
    """One line for the console: how many calls, the slowest operation by p95, and the limit."""
    operations = latency["operations"]
    if not operations:
        return "no call was timed"
    slowest = max(operations, key=lambda o: o["p95_s"])
    limit = "no limit" if latency["limit_s"] is None else f"limit {latency['limit_s']} s"
    late = sum(o["over_limit"] for o in operations)
    return (
        f"{latency['calls']} calls; slowest {slowest['operation']} p50 {slowest['p50_s']} s, p95 {slowest['p95_s']} s, "
        f"max {slowest['max_s']} s ({limit}{f'; {late} over it' if late else ''})"
    )


def _announce(console: Console, counterparts: Counterparts, target: Target) -> None:
    token = (
        counterparts.callback_token
        if counterparts.callback_token == CALLBACK_TOKEN
        else "(the value of --callback-token / OIR_CALLBACK_TOKEN)"
    )
    console.print(
        Panel(
            f"PSRM URL:            {counterparts.psrm_url}\n"
            f"callback (fagsystem) {counterparts.callback_url}  (DækningAfskrivning: "
            f"{counterparts.callback_url}/daekningafskrivning)\n"
            f"callback token:      {token}\n"
            f"debtor system:       {target.debtor_url}\n"
            f"the harness listens on {target.bind}"
            + (" (this machine only)" if not target.reachable_from_network else "")
            + "\n"
            "The harness runs FBS, PSRM, the payment solution, the other vendors' debtor systems and, for each\n"
            "scenario, a real integration engine behind the callback URL.",
            title="Configure the debtor system with these for this run",
        )
    )
    check_callback(counterparts.callback_url)  # preflight: the relay answers where the vendor was told
    console.print(callback_note(counterparts.callback_url), soft_wrap=True, markup=False, highlight=False)


# `oir verify-certificate` answers "may this system go live on this certificate?" the way Pact's
# can-i-deploy does: 0 only for a valid certificate whose verdict is a pass; a valid certificate that is
# not a pass and an invalid one are different non-zero codes, so CI can tell them apart.
PASSING_VERDICTS = (CERTIFIED, CERTIFIED_WITH_DEVIATIONS)
EXIT_PASS, EXIT_INVALID, EXIT_USAGE, EXIT_NOT_A_PASS = 0, 1, 2, 3


def _ids(certificate: dict[str, Any], outcome: str) -> list[str]:
    requirements = certificate.get("requirements")
    listed = requirements.get(outcome) if isinstance(requirements, dict) else None
    return [str(rid) for rid in listed] if isinstance(listed, list) else []


def run_verify(
    console: Console,
    file: Path | None,
    public_key: str | None,
    export_public_key: Path | None,
    now: datetime,
    output: str = "text",
) -> int:
    """Check a certificate offline: signature (trusted key), digests (this harness) and dates; then
    whether its verdict is a pass. Exit 0 valid and a pass, 1 invalid, 3 valid but not a pass, 2 usage."""
    as_json = output == "json"

    def usage(message: str) -> int:
        if as_json:
            console.out(json.dumps({"status": "error", "error": message, "exitCode": EXIT_USAGE}), highlight=False)
            return EXIT_USAGE
        return _usage(console, message)

    try:
        if export_public_key:
            key = harness_key().public_key()
            export_public_key.write_bytes(public_pem(key))
            if not as_json:
                console.print(f"harness public key {key_id(key)} written to {export_public_key}")
            if file is None:
                return 0
        if file is None:
            return usage("give the certificate file to verify (or --export-public-key FILE)")
        if public_key is not None and not public_key.strip():
            return usage("--public-key is empty (a CI variable that is missing?): give the signer's public key")
        document = read_certificate(file)
        trusted, origin = trusted_key_and_origin(public_key)
    except (CertificationError, OSError) as exc:
        return usage(str(exc))
    result = verify(document, trusted, now)
    certificate = result.certificate
    verdict = str(certificate.get("verdict"))
    target: dict[str, Any] = certificate["target"] if isinstance(certificate.get("target"), dict) else {}
    simulated = bool(target.get("simulated", True))
    passes = verdict in PASSING_VERDICTS
    status = "invalid" if not result.valid else "pass" if passes else "not-a-pass"
    code = EXIT_INVALID if not result.valid else EXIT_PASS if passes else EXIT_NOT_A_PASS
    not_verified = _ids(certificate, "notVerified")
    if as_json:
        console.out(
            json.dumps(
                {
                    "status": status,
                    "exitCode": code,
                    "file": str(file),
                    "valid": result.valid,
                    "pass": result.valid and passes,
                    "verdict": verdict,
                    "profile": certificate.get("profile"),
                    "product": certificate.get("product"),
                    "target": target,
                    "issued": certificate.get("issued"),
                    "expires": certificate.get("expires"),
                    "checked": rfc3339(now),
                    "trustedKey": {"id": key_id(trusted), "source": origin},
                    "problems": result.problems,
                    "notes": result.notes,
                    "failed": _ids(certificate, "failed"),
                    "notVerified": not_verified,
                },
                indent=2,
                ensure_ascii=False,
            ),
            highlight=False,
        )
        return code
    subject = (
        f"{certificate.get('profile')} ({certificate.get('product')}), verdict {verdict}, "
        f"issued {certificate.get('issued')}, expires {certificate.get('expires')}"
    )
    console.print(f"trusting {key_id(trusted)}: {origin}", soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    if not result.valid:
        console.print(f"[red]INVALID[/red]: {file}: {subject}", soft_wrap=True)
        for problem in result.problems:
            console.print(f"  - {problem}", soft_wrap=True)
        return code
    signed = f"signed by {key_id(trusted)}; checked {rfc3339(now)}"
    if simulated:
        console.print("note: a certificate of the harness's own simulator of the profile, not of a vendor's system")
    if not_verified:
        listed = ", ".join(not_verified)
        console.print(f"note: {len(not_verified)} requirement(s) not verified: {listed}", soft_wrap=True)
    if not passes:
        failed = _ids(certificate, "failed")
        console.print(
            f"[red]VALID, NOT A PASS[/red]: {file}: {subject}; {signed}"
            + (f"; failed: {', '.join(failed)}" if failed else ""),
            soft_wrap=True,
        )
        return code
    console.print(f"[green]VALID[/green]: {file}: {subject}; {signed}", soft_wrap=True)
    return code
