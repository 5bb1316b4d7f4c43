"""The engine's database comes up at the newest schema whatever it was, and one already there is not
migrated again (each scenario world opens a copy of a migrated template)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from integration import store
from integration.store import open_store


def _revision(url: str) -> str | None:
    bind = create_engine(url)
    with bind.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(store._alembic_config(""))


def test_a_new_database_gets_every_table_at_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    opened = open_store(url)
    assert _revision(url) == _scripts().get_current_head()
    tables = set(inspect(opened.kw["bind"]).get_table_names())
    assert {"outbox_message", "claim_record"} <= tables


def test_a_database_of_an_older_revision_is_brought_to_the_newest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    first = list(_scripts().walk_revisions())[-1].revision  # the oldest migration
    command.upgrade(store._alembic_config(url), first)
    assert _revision(url) == first != _scripts().get_current_head()
    open_store(url)
    assert _revision(url) == _scripts().get_current_head()


def test_a_database_at_the_newest_revision_is_only_asked_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    open_store(url)

    def no_upgrade(*_: object) -> None:
        raise AssertionError("Alembic ran on a database already at the newest revision")

    monkeypatch.setattr(command, "upgrade", no_upgrade)
    opened = open_store(url)
    with opened() as session:
        assert session.execute(text("SELECT count(*) FROM outbox_message")).scalar() == 0
