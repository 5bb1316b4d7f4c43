"""What the service does, apart from the web: people and their rights, test systems, runs, reviews and
the audit trail. The pages and the HTTP API (app.py) and `oir service admin` (commands.py) call these;
so a rule — a vendor sees only its own organisation's systems and runs — lives in one place.

Every action is appended to the audit trail in the same transaction as the change it records.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.profile import PROFILE_NAMES

from ..certification.certificate import read_certificate, verify
from ..certification.errors import CertificateFileError, CertificationError
from ..certification.keys import PUBLIC_KEY_FILE, harness_key, load_public_key, public_pem
from ..errors import HarnessError
from .models import (
    APPROVED,
    FAILED,
    FINISHED,
    ORG_KINDS,
    PENDING,
    QUEUED,
    REJECTED,
    ROLES,
    ApiToken,
    AuditEvent,
    Certificate,
    Deviation,
    Org,
    Review,
    Run,
    SystemPort,
    TestSystem,
    User,
    WavePlan,
    WebSession,
    open_database,
)
from .secrets import MIN_PASSWORD, Vault, check_password, hash_password, new_token, token_hash
from .signing import approved_certificate

SESSION_HOURS = 12
# failed sign-ins allowed per minute — per account and per client address — before every further attempt
# is refused unheard (429) until the minute has passed: password guessing at a few tries a minute
LOGIN_WINDOW_S = 60
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 20
_NOBODY = hash_password("no one has this password")  # checked against when the e-mail is unknown
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ServiceError(HarnessError, ValueError):
    """A request the service refuses (bad input, a rule broken): shown to the person, a 4xx for the API."""


class NotFoundError(ServiceError):
    """No such thing — or one the person may not see (the same answer, so ids reveal nothing)."""


class ForbiddenError(ServiceError):
    """The person's role does not allow this."""


class TooManyAttemptsError(ServiceError):
    """Too many failed sign-ins for this account or from this address in the last minute (429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ServiceConfig:
    data_dir: Path
    database_url: str | None = None  # default: SQLite in data_dir
    workers: int = 2
    trial: bool = False  # approved certificates of simulated test systems count on the board (a trial service)
    certify_args: tuple[str, ...] = ()  # added to every `oir certify` (tests: a quick run)
    lease_s: float = 60.0
    run_timeout_s: float = 4 * 3600.0  # a run's process still going after this is stopped (the run failed)
    poll_s: float = 2.0
    validity_days: int = 180
    # vendors' systems elsewhere (`serve --advertise-host H --run-ports A-B`): each registered system gets a
    # fixed (callback, PSRM) pair from the pool, and its runs listen on `run_bind` and advertise http://H:port
    advertise_host: str | None = None
    run_ports: tuple[int, int] | None = None  # first and last port of the pool, both included
    run_bind: str = "0.0.0.0"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the injected clock

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'service.db'}"

    @property
    def remote(self) -> bool:
        """Whether vendors' systems elsewhere reach the runs (fixed ports, advertised URLs)."""
        return self.advertise_host is not None and self.run_ports is not None

    def advertised(self, port: int) -> str:
        host = self.advertise_host or "127.0.0.1"
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def default_data_dir() -> Path:
    from ..certification.keys import oir_home

    return oir_home() / "service"


class Service:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = open_database(config.url)
        self.vault = Vault.in_folder(self.data_dir)
        self.key = harness_key(self.data_dir / "signing")  # KOMBIT's key: signs approved runs only
        self.runner_home = self.data_dir / "runner"  # the runs' own key (never trusted by the service's board)
        self.runs_dir = self.data_dir / "runs"
        self.approved_dir = self.data_dir / "approved"
        self.queued = threading.Event()  # set when a run is queued: wakes a worker

    def now(self) -> datetime:
        return self.config.clock()

    def public_key_pem(self) -> bytes:
        return public_pem(self.key.public_key())

    def audit(self, db: Session, actor: str, action: str, subject: str, detail: str = "") -> None:
        db.add(AuditEvent(at=self.now(), actor=actor, action=action, subject=subject, detail=detail))

    # --- administration ----------------------------------------------------------------------------

    def create_org(self, name: str, kind: str, actor: str = "admin (command line)") -> Org:
        name = name.strip()
        if not name:
            raise ServiceError("an organisation needs a name")
        if kind not in ORG_KINDS:
            raise ServiceError(f"--kind {kind!r}: one of {', '.join(ORG_KINDS)}")
        with self.store.begin() as db:
            if db.scalar(select(Org).where(Org.name == name)):
                raise ServiceError(f"organisation {name!r} exists already")
            org = Org(name=name, kind=kind)
            db.add(org)
            self.audit(db, actor, "create-org", name, kind)
        return org

    def create_user(
        self, email: str, org_name: str, role: str, password: str, actor: str = "admin (command line)"
    ) -> User:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise ServiceError(f"{email!r} is not an e-mail address")
        if role not in ROLES:
            raise ServiceError(f"--role {role!r}: one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ServiceError(f"the password is shorter than {MIN_PASSWORD} characters")
        with self.store.begin() as db:
            org = db.scalar(select(Org).where(Org.name == org_name))
            if org is None:
                raise ServiceError(f"--org {org_name!r}: no such organisation (oir service admin create-org first)")
            if (org.kind == "vendor") != (role == "vendor"):
                raise ServiceError(
                    f"--role {role}: a {org.kind} organisation's people are "
                    + ("vendors" if org.kind == "vendor" else "reviewers or admins")
                )
            if db.scalar(select(User).where(User.email == email)):
                raise ServiceError(f"user {email} exists already")
            user = User(email=email, org_id=org.id, role=role, password_hash=hash_password(password))
            db.add(user)
            self.audit(db, actor, "create-user", email, f"{org.name}, {role}")
        return user

    def create_token(self, email: str, name: str, actor: str = "admin (command line)") -> str:
        """A new API token for `email`; the token itself is returned once and never stored."""
        token = new_token()
        with self.store.begin() as db:
            user = db.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                raise ServiceError(f"--user {email!r}: no such user")
            db.add(ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), created=self.now()))
            self.audit(db, actor, "create-token", user.email, name)
        return token

    # --- sign-in -----------------------------------------------------------------------------------

    def login(self, email: str, password: str, address: str = "-") -> str | None:
        """A new session's cookie value, or None (the same answer for an unknown user and a wrong password);
        TooManyAttemptsError, the password not even checked, after too many failures in the last minute for
        this account or from this `address` — counted in the audit trail, so across instances too."""
        who = email.strip().lower()[:200] or "-"
        source = f"from {address}"[:200]
        retry_after = self._throttled(who, source)
        if retry_after:
            raise TooManyAttemptsError(
                f"too many failed sign-ins for this account or from this address: try again in {retry_after} s",
                retry_after,
            )
        with self.store.begin() as db:
            user = db.scalar(select(User).where(User.email == email.strip().lower()))
            # an unknown e-mail costs one hash too: the answer's time does not tell who has an account
            if not check_password(user.password_hash if user else _NOBODY, password) or user is None:
                self.audit(db, who, "login-refused", "session", source)
                return None
            cookie = new_token("sess")
            db.add(
                WebSession(
                    token_hash=token_hash(cookie),
                    user_id=user.id,
                    csrf=new_token("csrf"),
                    expires=self.now() + timedelta(hours=SESSION_HOURS),
                )
            )
            self.audit(db, user.email, "login", "session")
        return cookie

    def _throttled(self, who: str, source: str) -> int:
        """Seconds until a sign-in of `who` from `source` is heard again; 0: now."""
        since = self.now() - timedelta(seconds=LOGIN_WINDOW_S)
        refused = select(AuditEvent.at).where(AuditEvent.action == "login-refused", AuditEvent.at > since)
        with self.store.begin() as db:
            for column, value, limit in (
                (AuditEvent.actor, who, LOGIN_FAILURES_PER_ACCOUNT),
                (AuditEvent.detail, source, LOGIN_FAILURES_PER_ADDRESS),
            ):
                failures = list(db.scalars(refused.where(column == value).order_by(AuditEvent.at.desc()).limit(limit)))
                if len(failures) >= limit:  # heard again once the oldest of those leaves the window
                    self.audit(db, who, "login-throttled", "session", source)
                    return max(1, math.ceil((failures[-1] - since).total_seconds()))
        return 0

    def session(self, cookie: str | None) -> WebSession | None:
        if not cookie:
            return None
        with self.store() as db:
            found = db.get(WebSession, token_hash(cookie))
            if found is None or found.expires <= self.now():
                return None
            return found

    def logout(self, cookie: str) -> None:
        with self.store.begin() as db:
            found = db.get(WebSession, token_hash(cookie))
            if found is not None:
                self.audit(db, found.user.email, "logout", "session")
                db.delete(found)

    def token_user(self, authorization: str | None) -> User | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with self.store() as db:
            found = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token.strip())))
            return found.user if found else None

    # --- test systems and runs --------------------------------------------------------------------

    def systems(self, user: User) -> list[TestSystem]:
        with self.store() as db:
            query = select(TestSystem).order_by(TestSystem.id)
            if not user.kombit:
                query = query.where(TestSystem.org_id == user.org_id)
            return list(db.scalars(query))

    def system(self, user: User, system_id: int) -> TestSystem:
        with self.store() as db:
            found = db.get(TestSystem, system_id)
            if found is None or (not user.kombit and found.org_id != user.org_id):
                raise NotFoundError(f"no test system {system_id}")
            return found

    def register_system(
        self,
        user: User,
        *,
        name: str,
        profile: str,
        debtor_url: str | None,
        debtor_token: str | None = None,
        callback_token: str | None = None,
        test_control: bool = False,
    ) -> TestSystem:
        if user.role != "vendor":
            raise ForbiddenError("only a vendor's people register test systems")
        name = name.strip()
        if not name:
            raise ServiceError("the test system needs a name")
        if profile not in PROFILE_NAMES:
            raise ServiceError(f"profile {profile!r}: one of {', '.join(PROFILE_NAMES)}")
        url = (debtor_url or "").strip()
        if url.lower() in ("", "simulated"):
            url = ""
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ServiceError(f"debtor URL {url!r} is not an http(s) URL (or say 'simulated')")
            if not debtor_token:
                raise ServiceError("a vendor's debtor system needs its bearer token")
            if self.config.remote and not callback_token:
                raise ServiceError(
                    "a vendor's system that reaches the service over the network needs a callback token: the one "
                    "it presents on DækningAfskrivning callbacks (choose one and configure it in your system)"
                )
        sealed = self.vault.seal({"debtorToken": debtor_token or "", "callbackToken": callback_token or ""})
        for _ in range(20):
            try:
                with self.store.begin() as db:
                    system = TestSystem(
                        org_id=user.org_id,
                        name=name,
                        profile=profile,
                        debtor_url=url or None,
                        credentials=sealed,
                        test_control=test_control,
                        created=self.now(),
                    )
                    db.add(system)
                    db.flush()
                    detail = f"{name}, {profile}, {url or 'simulated'}"
                    self.audit(db, user.email, "register-system", f"system {system.id}", detail)
                    if url and self.config.remote:  # its ports with it: an exhausted pool registers nothing
                        self._allocate(db, system.id)
                return self.system(user, system.id)
            except IntegrityError:  # another instance took one of those ports meanwhile: the next free pair
                continue
        raise ServiceError("no port pair could be allocated for the system; try again")

    def ensure_ports(self, system_id: int) -> None:
        """Give a vendor's system registered before the service advertised itself its port pair."""
        if not self.config.remote:
            return
        for _ in range(20):
            try:
                with self.store.begin() as db:
                    system = db.get(TestSystem, system_id)
                    if system is None or system.simulated or system.ports:
                        return
                    self._allocate(db, system_id)
                return
            except IntegrityError:  # another instance took one of those ports meanwhile: the next free pair
                continue
        raise ServiceError(f"system {system_id}: no port pair could be allocated; try again")

    def _allocate(self, db: Session, system_id: int) -> None:
        """A vendor's system's fixed (callback, PSRM) pair from the pool, once and for good, in `db`'s
        transaction. Two instances allocating at once cannot share a port (the table's primary key): the
        loser's transaction fails with an IntegrityError, and the caller tries the next free pair."""
        assert self.config.run_ports is not None
        first, last = self.config.run_ports
        used = set(db.scalars(select(SystemPort.port)))
        pair = next(((p, p + 1) for p in range(first, last) if p not in used and p + 1 not in used), None)
        if pair is None:
            raise ServiceError(
                f"no free port pair left in the service's pool {first}-{last} (each vendor's test system keeps "
                "two for good); KOMBIT's administrator widens `oir service serve --run-ports`"
            )
        db.add(SystemPort(port=pair[0], system_id=system_id, role="callback"))
        db.add(SystemPort(port=pair[1], system_id=system_id, role="psrm"))
        self.audit(db, "service", "allocate-ports", f"system {system_id}", f"callback {pair[0]}, PSRM {pair[1]}")

    def counterparts(self, system: TestSystem) -> dict[str, str] | None:
        """What the vendor configures in its system for the service's runs: the callback (fagsystem) URL and
        PSRM's URL, advertised; None where the runs listen on this machine alone (simulated, or no pool)."""
        callback, psrm = system.port("callback"), system.port("psrm")
        if not self.config.remote or system.simulated or callback is None or psrm is None:
            return None
        return {"callbackUrl": self.config.advertised(callback), "psrmUrl": self.config.advertised(psrm)}

    def start_run(self, user: User, system_id: int, rerun_of: int | None = None) -> Run:
        system = self.system(user, system_id)  # 404 for another organisation's system
        if user.role != "vendor" and user.role != "admin":
            raise ForbiddenError("only the vendor (or an administrator) starts a certification run")
        self.ensure_ports(system.id)  # a system registered before the service advertised itself
        with self.store.begin() as db:
            run = Run(
                system_id=system.id, org_id=system.org_id, requested_by=user.email, status=QUEUED, created=self.now()
            )
            db.add(run)
            db.flush()
            detail = f"re-run of run {rerun_of}" if rerun_of else f"{system.name} ({system.profile})"
            self.audit(db, user.email, "start-run", f"run {run.id}", detail)
        self.queued.set()
        return self.run(user, run.id)

    def runs(self, user: User, *, review: str | None = None) -> list[Run]:
        with self.store() as db:
            query = select(Run).order_by(Run.id.desc())
            if not user.kombit:
                query = query.where(Run.org_id == user.org_id)
            if review:
                query = query.where(Run.review == review)
            return list(db.scalars(query))

    def run(self, user: User, run_id: int) -> Run:
        with self.store() as db:
            found = db.get(Run, run_id)
            if found is None or (not user.kombit and found.org_id != user.org_id):
                raise NotFoundError(f"no run {run_id}")
            return found

    def report_folder(self, run: Run) -> Path:
        return self.runs_dir / str(run.id) / "report" / run.system.profile

    def log_file(self, run: Run) -> Path:
        return self.runs_dir / str(run.id) / "log.txt"

    def results(self, run: Run) -> dict[str, Any] | None:
        try:
            data = json.loads((self.report_folder(run) / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def run_certificate(self, run: Run) -> dict[str, Any] | None:
        """The run's own certificate (signed by the runner's key: what the run found, not yet KOMBIT's word)."""
        path = self.report_folder(run) / "certificate.json"
        if not path.is_file():
            return None
        try:
            document = read_certificate(path)
        except CertificateFileError:
            return None
        try:
            runner = load_public_key(str(self.runner_home / PUBLIC_KEY_FILE))
        except CertificationError:
            return None  # no run of this service ever signed: the file did not come from one
        if not verify(document, runner, self.now()).valid:
            return None  # altered in the folder, or expired: nothing to approve
        return document

    # --- review and sign-off ----------------------------------------------------------------------

    def review(
        self, user: User, run_id: int, decision: str, comment: str, deviations: list[tuple[str, str, date]]
    ) -> Run:
        if not user.kombit:
            raise ForbiddenError("only KOMBIT's reviewers review runs")
        run = self.run(user, run_id)
        if run.review != PENDING:
            raise ServiceError(f"run {run_id} is not waiting for review ({run.review or run.status})")
        if decision not in (APPROVED, REJECTED):
            raise ServiceError("decide: approve or reject")
        if not comment.strip():
            raise ServiceError("a review needs a comment")
        today = self.now().date()
        for requirement, reason, until in deviations:
            if not reason.strip():
                raise ServiceError(f"deviation {requirement}: give the reason")
            if until <= today:
                raise ServiceError(f"deviation {requirement}: its expiry {until} is not in the future")
        signed = None
        if decision == APPROVED:
            document = self.run_certificate(run)
            if document is None:
                raise ServiceError(f"run {run_id} has no valid certificate of its own to approve")
            accepted = [
                {"requirement": r, "owner": user.email, "reason": reason.strip(), "expires": until.isoformat()}
                for r, reason, until in deviations
            ]
            try:
                signed = approved_certificate(
                    document,
                    accepted,
                    self.key,
                    self.now(),
                    self.config.validity_days,
                    issuer={"service": "KOMBIT certification service", "run": run.id, "reviewer": user.email},
                )
            except ValueError as exc:
                raise ServiceError(str(exc)) from exc
        with self.store.begin() as db:
            fresh = db.get(Run, run.id)
            assert fresh is not None
            if fresh.review != PENDING:  # another reviewer was quicker
                raise ServiceError(f"run {run_id} was reviewed meanwhile ({fresh.review})")
            fresh.review = decision
            db.add(
                Review(run_id=run.id, reviewer=user.email, decision=decision, comment=comment.strip(), at=self.now())
            )
            for requirement, reason, until in deviations:
                db.add(
                    Deviation(
                        run_id=run.id,
                        requirement=requirement,
                        reason=reason.strip(),
                        expires=until,
                        accepted_by=user.email,
                    )
                )
                self.audit(
                    db,
                    user.email,
                    "accept-deviation",
                    f"run {run.id}",
                    f"{requirement} until {until}: {reason.strip()}",
                )
            self.audit(db, user.email, f"review-{decision}", f"run {run.id}", comment.strip())
            if signed is not None:
                text = json.dumps(signed, indent=2, ensure_ascii=False)
                db.add(Certificate(run_id=run.id, profile=run.system.profile, document=text, issued=self.now()))
                folder = self.approved_dir / f"run-{run.id}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "certificate.json").write_text(text, encoding="utf-8")
                results = self.report_folder(run) / "results.json"
                if results.is_file():  # the board names a failed check from it
                    (folder / "results.json").write_bytes(results.read_bytes())
                self.audit(db, "service", "sign-certificate", f"run {run.id}", signed["certificate"]["verdict"])
        return self.run(user, run.id)

    def reviews(self, user: User, run_id: int) -> tuple[list[Review], list[Deviation]]:
        run = self.run(user, run_id)
        with self.store() as db:
            reviews = list(db.scalars(select(Review).where(Review.run_id == run.id).order_by(Review.id)))
            deviations = list(db.scalars(select(Deviation).where(Deviation.run_id == run.id).order_by(Deviation.id)))
        return reviews, deviations

    def certificate(self, user: User, run_id: int) -> str | None:
        run = self.run(user, run_id)
        with self.store() as db:
            found = db.scalar(select(Certificate).where(Certificate.run_id == run.id))
            return found.document if found else None

    def certificate_exists(self, run_id: int) -> bool:
        with self.store() as db:
            return db.scalar(select(Certificate.id).where(Certificate.run_id == run_id)) is not None

    def audit_trail(self, user: User, limit: int = 500) -> list[AuditEvent]:
        if not user.kombit:
            raise NotFoundError("no such page")
        with self.store() as db:
            return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))

    # --- the rollout calendar ---------------------------------------------------------------------

    def wave_dates(self) -> dict[int, date | None]:
        with self.store() as db:
            return {plan.wave: plan.planned for plan in db.scalars(select(WavePlan))}

    def plan_wave(self, user: User, wave: int, planned: date | None) -> None:
        from ..rollout import WAVES

        if not user.kombit:
            raise ForbiddenError("only KOMBIT plans the waves")
        if wave not in WAVES:
            raise NotFoundError(f"no wave {wave}")
        with self.store.begin() as db:
            plan = db.get(WavePlan, wave) or WavePlan(wave=wave)
            plan.planned = planned
            db.add(plan)
            self.audit(db, user.email, "plan-wave", f"wave {wave}", planned.isoformat() if planned else "no date")

    def counts(self) -> dict[str, int]:
        with self.store() as db:
            return {
                status: db.scalar(select(func.count()).select_from(Run).where(Run.status == status)) or 0
                for status in (QUEUED, "running", FINISHED, FAILED)
            }
