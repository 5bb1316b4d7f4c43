"""Certification sessions: a run against a vendor's system that can wait for the next bank day.

A vendor's real test system lives in real time. Without a test clock, a check that needs the next
business day (a claim registered today is payable through B_03 only tomorrow) does its part today and
parks as WAITING with the instant it resumes: the next Danish bank day (contracts/calendar.py) at
09:00 Copenhagen time, the banks' business hours. The run is a session, persisted here as one JSON file,
`$OIR_HOME/sessions/<id>.json` (beside the harness's signing key, `~/.config/oir/` by default), and
`oir certify --resume <id>` runs the parked checks' second halves, judges the whole session and writes
the report and the certificate.

Why `$OIR_HOME` and not the report folder: the id must resolve wherever the command runs and whatever
`--out` says; a plain rerun must find a waiting session of the same profile and system to say so; and a
report folder is an artefact (CI publishes it, a rerun overwrites it). The session records its report
folder, and the report shows the session's id.

What a session keeps: the options that shape the run (seed, ports — the vendor configured those
addresses, so the counterparts listen there again —, the synthetic-data salt), every check's result so
far and, for each parked check, what its second half needs: ids, a payment reference, the amount, a
masked CPR — never an unmasked CPR (the citizen is made again from the seed) and never a token (give
them again on resume).

A session expires `SESSION_DAYS` days after it was created: long enough to wait out Easter (Maundy
Thursday to Easter Monday) or Christmas with a margin, short enough that yesterday's evidence still
describes the system being certified.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contracts.calendar import is_bank_day
from contracts.checks.fuzz import FuzzCheck, FuzzFailure, FuzzResult
from contracts.identity import mask_cpr_in_text

from .certificate import parse_rfc3339
from .errors import CertificationError
from .pacts import PactInteraction, PactPart
from .probes import Parked, ProbeResult
from .scenarios import ScenarioCheck, ScenarioRun, ScenarioSkip

SCHEMA = "oir-certification-session/1"
SESSION_DAYS = 7
RESUME_AT = time(9, 0)  # the banks' business hours, Copenhagen time
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
WAITING, COMPLETED, EXPIRED, ABANDONED = "waiting", "completed", "expired", "abandoned"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class SessionError(CertificationError):
    """A session cannot be resumed: unknown, unreadable, complete, expired or abandoned (exit 2)."""


class SessionNotReady(CertificationError):
    """Resumed before its checks' resume time (exit 3, nothing run)."""

    def __init__(self, message: str, ready_at: datetime) -> None:
        super().__init__(message)
        self.ready_at = ready_at


def resume_time(now: datetime) -> datetime:
    """When a check parked at `now` resumes: the next Danish bank day after today, at 09:00 Copenhagen."""
    day = now.astimezone(COPENHAGEN).date() + timedelta(days=1)
    while not is_bank_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, RESUME_AT, tzinfo=COPENHAGEN)


@dataclass
class RunParts:
    """Every check of a session so far, as certify_profile left them."""

    fuzz: FuzzResult
    probes: list[ProbeResult]
    pact: PactPart
    scenarios: ScenarioCheck | None

    def as_json(self) -> dict[str, Any]:
        return {
            "fuzz": asdict(self.fuzz),
            "probes": [asdict(p) for p in self.probes],
            "pact": asdict(self.pact),
            "scenarios": asdict(self.scenarios) if self.scenarios is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunParts:
        pact = dict(data["pact"])
        pact["interactions"] = [PactInteraction(**i) for i in pact["interactions"]]
        scenarios = data.get("scenarios")
        check = None
        if scenarios is not None:
            check = ScenarioCheck(
                runs=[ScenarioRun(**r) for r in scenarios["runs"]],
                not_run=[ScenarioSkip(**n) for n in scenarios["not_run"]],
                not_applicable=[ScenarioSkip(**n) for n in scenarios["not_applicable"]],
                seconds=scenarios["seconds"],
                report=scenarios["report"],
            )
        probes = []
        for probe in data["probes"]:
            waiting = probe.get("waiting")
            probes.append(ProbeResult(**{**probe, "waiting": Parked(**waiting) if waiting else None}))
        return cls(_fuzz(data["fuzz"]), probes, PactPart(**pact), check)

    def waiting(self) -> list[ProbeResult]:
        return [p for p in self.probes if p.waiting is not None]


@dataclass
class CertificationSession:
    id: str
    profile: str
    debtor_url: str
    report: str  # the report folder (absolute)
    created: str  # RFC 3339
    expires: str
    status: str  # waiting | completed | expired | abandoned
    seed: int
    max_examples: int
    callback_timeout: float
    callback_port: int  # the addresses the vendor configured: the counterparts listen there again
    psrm_port: int
    scenarios: bool
    data_salt: str  # hex: the probes' people are made again from it (no CPR stored; hex, so no CPR masking hits it)
    started: str  # when the first half started (the report's "started")
    seconds: float  # how long the runs took so far (real time)
    parts: RunParts
    resumed: list[str] = field(default_factory=list)  # when it was resumed (RFC 3339)

    def resume_at(self) -> datetime | None:
        """The earliest resume time of its waiting checks (None: nothing waits)."""
        times = [parse_rfc3339(p.waiting.resume_at) for p in self.parts.waiting() if p.waiting]
        return min(times) if times else None

    def expired(self, now: datetime) -> bool:
        return now >= parse_rfc3339(self.expires)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = self.parts.as_json()
        return {"schema": SCHEMA, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificationSession:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["parts"] = RunParts.from_json(fields["parts"])
        return cls(**fields)

    def describe_waiting(self) -> str:
        """'payment-callback (resumes 2026-01-06T09:00:00+01:00)', for messages."""
        return ", ".join(f"{p.name} (resumes {p.waiting.resume_at})" for p in self.parts.waiting() if p.waiting)


def new_session_id(profile: str, now: datetime) -> str:
    return f"{profile}-{now.astimezone(COPENHAGEN):%Y%m%d-%H%M}-{uuid.uuid4().hex[:6]}"


def expiry(created: datetime) -> datetime:
    return created + timedelta(days=SESSION_DAYS)


class SessionStore:
    """The sessions of one harness home: one JSON file each under `<home>/sessions/` (0700)."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "sessions"

    def path(self, session_id: str) -> Path:
        if not _ID.match(session_id):
            raise SessionError(f"{session_id!r} is not a certification session id (like kmd-opus-20260105-0930-ab12cd)")
        return self.folder / f"{session_id}.json"

    def save(self, session: CertificationSession) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.path(session.id)
        text = mask_cpr_in_text(json.dumps(session.as_json(), indent=2, ensure_ascii=False))
        partial = path.with_suffix(".json.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # a crash mid-write leaves the previous state, never half a file
        return path

    def load(self, session_id: str) -> CertificationSession:
        path = self.path(session_id)
        if not path.is_file():
            known = [s.id for s in self.sessions() if s.status == WAITING]
            hint = f"; waiting sessions: {', '.join(known)}" if known else "; no session is waiting"
            raise SessionError(f"no certification session {session_id} in {self.folder}{hint}")
        try:
            return CertificationSession.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            raise SessionError(
                f"certification session file {path} is corrupted ({type(exc).__name__}: {exc}); "
                "start a new certification"
            ) from exc

    def sessions(self) -> list[CertificationSession]:
        """Every readable session (a corrupted file is skipped here; loading it by id says what is wrong)."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                found.append(CertificationSession.from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError, KeyError):
                continue
        return found

    def waiting(self, profile: str, debtor_url: str, now: datetime) -> list[CertificationSession]:
        """The unexpired waiting sessions of this profile and system; a waiting session found expired is
        marked so on the way."""
        found = []
        for session in self.sessions():
            if session.status != WAITING or session.profile != profile or session.debtor_url != debtor_url:
                continue
            if session.expired(now):
                session.status = EXPIRED
                self.save(session)
                continue
            found.append(session)
        return found

    def resumable(self, session_id: str, now: datetime, *, early: bool = False) -> CertificationSession:
        """The session, if it can be resumed now: else SessionError (exit 2) or SessionNotReady (exit 3)."""
        session = self.load(session_id)
        if session.status == COMPLETED:
            raise SessionError(f"certification session {session_id} is complete: its report is in {session.report}")
        if session.status == ABANDONED:
            raise SessionError(f"certification session {session_id} was abandoned for a new one (--new-session)")
        if session.status == EXPIRED or session.expired(now):
            if session.status != EXPIRED:
                session.status = EXPIRED
                self.save(session)
            raise SessionError(
                f"certification session {session_id} expired on {session.expires} (sessions wait at most "
                f"{SESSION_DAYS} days); start a new certification"
            )
        ready = session.resume_at()
        if ready is not None and now < ready and not early:
            wait = ready - now
            hours = int(wait.total_seconds() // 3600)
            minutes = int(wait.total_seconds() % 3600 // 60)
            at = ready.astimezone(COPENHAGEN).isoformat(timespec="seconds")
            raise SessionNotReady(
                f"certification session {session_id} is still waiting: {session.describe_waiting()}; "
                f"ready at {at} (in {hours} h {minutes} min). Run `oir certify --resume {session_id}` "
                "then, or add --resume-early to run the waiting checks now (they may then fail)",
                ready,
            )
        return session


def _fuzz(data: dict[str, Any]) -> FuzzResult:
    """The fuzzing part of a stored session, its checks and their failures as the objects they were."""
    checks = [
        FuzzCheck(**{**c, "failures": [FuzzFailure(**f) for f in c.get("failures", [])]})
        for c in data.get("checks", [])
    ]
    return FuzzResult(**{**data, "checks": checks})
