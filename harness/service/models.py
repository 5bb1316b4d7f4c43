"""The service's durable state (SQLAlchemy 2): organisations, people, sessions, API tokens, test systems,
runs, reviews, deviations, certificates, the audit trail and the waves' planned dates.

An embedded SQLite file by default (`<data dir>/service.db`: nothing to install), PostgreSQL through the
same URL where several instances share the work. The schema is made with `create_all`: the service is
new and has one schema version; the engine's Alembic migrations (integration/migrations) are the model
to follow when a second version needs a migration.

A test system's fixed ports (a service that advertises itself to vendors' systems elsewhere, `oir service
serve --advertise-host`) are rows of a table of their own, `svc_system_port`, the port its primary key: a
port can belong to one system only, whatever two instances registering at once try, and an existing
database gets the table from `create_all` with no migration.

The audit trail is append-only twice over: no route of the service updates or deletes it, and the
database refuses it (a trigger on SQLite and PostgreSQL), so a defect or a hand-written SQL `UPDATE`
through the service's connection cannot rewrite history either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from integration.store import UtcDateTime  # one instant type: stored in UTC whatever the database

ROLES = ("vendor", "reviewer", "admin")
ORG_KINDS = ("vendor", "kombit")
QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "svc_org"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # vendor | kombit


class User(Base):
    __tablename__ = "svc_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("svc_org.id"))
    role: Mapped[str] = mapped_column(String(10))  # vendor | reviewer | admin
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    org: Mapped[Org] = relationship(lazy="joined")

    @property
    def kombit(self) -> bool:
        """Reviewers and administrators are KOMBIT's: they see every organisation's systems and runs."""
        return self.role in ("reviewer", "admin")


class WebSession(Base):
    """A browser session: the cookie holds a random token; only its sha256 is stored."""

    __tablename__ = "svc_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("svc_user.id"))
    csrf: Mapped[str] = mapped_column(String(64))  # checked on every POST of this session
    expires: Mapped[datetime] = mapped_column(UtcDateTime())
    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A CI token: shown once when made; only its sha256 is stored."""

    __tablename__ = "svc_api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("svc_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    user: Mapped[User] = relationship(lazy="joined")


class TestSystem(Base):
    """A vendor's system to certify: a debtor URL (or the profile's simulator) and its credentials,
    encrypted at rest (Fernet, keyed by the service's secret)."""

    __tablename__ = "svc_test_system"
    __test__ = False  # not a pytest class
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("svc_org.id"))
    name: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str] = mapped_column(String(40))
    debtor_url: Mapped[str | None] = mapped_column(String(500))  # None: the profile's simulator
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet token of {"debtorToken", "callbackToken"}
    test_control: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    org: Mapped[Org] = relationship(lazy="joined")
    ports: Mapped[list[SystemPort]] = relationship(lazy="selectin", order_by="SystemPort.port")

    @property
    def simulated(self) -> bool:
        return self.debtor_url is None

    def port(self, role: str) -> int | None:
        """The system's fixed port for `role` (callback | psrm), None where it has none."""
        return next((p.port for p in self.ports if p.role == role), None)


class SystemPort(Base):
    """One of a test system's two fixed ports from the service's pool: the callback receiver's or PSRM's.
    Allocated once, when the system is registered (or first run), and never given to another system."""

    __tablename__ = "svc_system_port"
    __table_args__ = (UniqueConstraint("system_id", "role"),)
    port: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    system_id: Mapped[int] = mapped_column(ForeignKey("svc_test_system.id"))
    role: Mapped[str] = mapped_column(String(10))  # callback | psrm


class Run(Base):
    """One certification of a test system. Leased by a worker (`lease_owner` until `leased_until`) while it
    runs, like the engine's outbox messages: an instance that dies lets its lease lapse and another takes it."""

    __tablename__ = "svc_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("svc_test_system.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("svc_org.id"))  # the system's, kept for the isolation check
    requested_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    started: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(40))
    progress: Mapped[str | None] = mapped_column(String(300))  # the check running now, "3/17 probe …"
    review: Mapped[str | None] = mapped_column(String(10))  # pending | approved | rejected (None: not reviewable)
    system: Mapped[TestSystem] = relationship(lazy="joined")


class Review(Base):
    __tablename__ = "svc_review"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("svc_run.id"))
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # approved | rejected
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Deviation(Base):
    """A gap or failure a reviewer accepted for one run: requirement, reason, until when."""

    __tablename__ = "svc_deviation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("svc_run.id"))
    requirement: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    expires: Mapped[date] = mapped_column(Date)
    accepted_by: Mapped[str] = mapped_column(String(200))


class Certificate(Base):
    """A certificate the service signed with its key after a reviewer approved the run."""

    __tablename__ = "svc_certificate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("svc_run.id"), unique=True)
    profile: Mapped[str] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(Text)  # the signed certificate.json
    issued: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    __tablename__ = "svc_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")


class WavePlan(Base):
    __tablename__ = "svc_wave_plan"
    wave: Mapped[int] = mapped_column(Integer, primary_key=True)
    planned: Mapped[date | None] = mapped_column(Date)


for _operation in ("UPDATE", "DELETE"):
    event.listen(
        AuditEvent.__table__,
        "after_create",
        DDL(
            f"CREATE TRIGGER svc_audit_no_{_operation.lower()} BEFORE {_operation} ON svc_audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        ).execute_if(dialect="sqlite"),
    )
for _statement in (
    "CREATE FUNCTION svc_audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit trail is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER svc_audit_append_only BEFORE UPDATE OR DELETE ON svc_audit "
    "FOR EACH ROW EXECUTE FUNCTION svc_audit_append_only()",
):
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


def open_database(url: str) -> sessionmaker[Any]:
    """The session factory of the service's database, its schema made if missing."""
    engine = create_engine(url, future=True, **({"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}))
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # two instances starting at once make the schema once
            connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        Base.metadata.create_all(connection)
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # pages read while a worker writes
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
