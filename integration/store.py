"""Durable state of the engine (SQLAlchemy 2; SQLite by default, PostgreSQL supported).

Inbox/outbox: what is read from FBS's feed and the messages it requires are written in one
transaction, together with the feed cursor; a crash before the commit rereads the same events, a
crash after it finds them in the inbox. Every outgoing message keeps the transaction id it was born
with, so a resend after a crash is harmless at the receiver. The schema is created by Alembic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC whatever the database.

    SQLite keeps no offset: an instant written with +01:00 would come back as local time and compare an
    hour off against a UTC one in the lease query. Naive datetimes are refused: time comes from the
    injected clock, which is always timezone-aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the engine's clock must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class FeedPosition(Base):
    """How far the engine has read a feed (FBS's claim events)."""

    __tablename__ = "feed_position"
    feed: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(64))


class InboxEvent(Base):
    """A feed event the engine has taken in (its id makes a reread harmless)."""

    __tablename__ = "inbox_event"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    """A message the engine must deliver, exactly as born, until it is answered."""

    __tablename__ = "outbox_message"
    # The lease's "is an earlier message of this claim pending?" is one seek here (migration 0008).
    __table_args__ = (Index("ix_outbox_message_claim_status", "claim_id", "municipality_cvr", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # REGISTER, STATE_CHANGE, LIABLE_CHANGE, REJECTION
    target: Mapped[str] = mapped_column(String(20))  # "debtor" or "fbs"
    municipality_cvr: Mapped[str] = mapped_column(String(8), index=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    transaction_id: Mapped[str] = mapped_column(String(36), unique=True)
    source_event: Mapped[str | None] = mapped_column(String(64))
    # PENDING, DONE, REJECTED (a debtor refused it; FBS was told), QUARANTINED (FBS refused it: kept, counted
    # and replayable, never dropped)
    status: Mapped[str] = mapped_column(String(20), default="PENDING", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the worker delivering (or that delivered) it
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ClaimRecord(Base):
    """A claim the engine registered (or is registering) at a debtor system, and its sub-claims."""

    __tablename__ = "claim_record"
    # A callback about a whole account reads the account's claims only (migration 0008).
    __table_args__ = (Index("ix_claim_record_account", "account_id", "municipality_cvr"),)
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    municipality_cvr: Mapped[str] = mapped_column(String(8), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    subclaim_ids: Mapped[list[str]] = mapped_column(JSON)
    # The money as registered and as reported back: a callback must fit it (None: registered before
    # the engine kept amounts; only part sums are checked then).
    amount_oere: Mapped[int | None] = mapped_column(Integer)
    part_amounts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    posted_oere: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The FBS claim this debtor claim carries when it is not FBS's own id (a write-up registered as a
    # further claim, an acknowledged replacement registered anew); None: the claim is FBS's own.
    fbs_claim_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)

    @property
    def fbs_id(self) -> str:
        return self.fbs_claim_id or self.claim_id


class ReceivedCallback(Base):
    """A DækningAfskrivning message taken in; its id makes a redelivery harmless."""

    __tablename__ = "received_callback"
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    municipality_cvr: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RepairedMovement(Base):
    """A debtor movement whose lost callback reconciliation made good in FBS (never post it twice)."""

    __tablename__ = "repaired_movement"
    signature: Mapped[str] = mapped_column(String(200), primary_key=True)  # subclaim|kind|amount|date
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    repaired_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MigratedClaim(Base):
    """A historic claim the final extract has queued (a resumed run skips it)."""

    __tablename__ = "migrated_claim"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())


def movement_signature(subclaim_id: str, kind: str, amount: int, on: str) -> str:
    return f"{subclaim_id}|{kind}|{amount}|{on}"


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    """Bring the database schema to the newest version (Alembic upgrade head)."""
    command.upgrade(_alembic_config(url), "head")


@cache
def _head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config("")).get_current_head()


def _at_head(engine: Engine) -> bool:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == _head_revision()


def open_store(url: str) -> sessionmaker[Any]:
    """The engine's database, its schema brought to the newest version first. A database already there
    (a scenario world's copy of a migrated template, a restart) is only asked its version: Alembic's
    upgrade, which loads its environment and every migration script, cost more than the world's start."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    if not _at_head(engine):
        migrate(url)
    return sessionmaker(engine, expire_on_commit=False)


def refresh_statistics(store: sessionmaker[Any]) -> None:
    """Fresh planner statistics for the outbox after a bulk intake (PostgreSQL only).

    PostgreSQL plans the lease query on its statistics; planned on those of a nearly empty table
    right after 100,000 messages arrived at once (a feed backlog, a final extract), its anti-join
    scans the whole table for every row (measured: minutes for one lease). Autovacuum would analyze
    the table, but only after its next nap; this does it at once.
    """
    bind = store.kw["bind"]
    if bind.dialect.name != "postgresql":
        return
    with bind.begin() as connection:
        connection.execute(text("ANALYZE outbox_message"))


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")  # personal data overwritten is gone from the file too
        cursor.close()
