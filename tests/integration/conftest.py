"""Engine databases for the tests: a SQLite file, and a fresh database on a throwaway PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from contracts.profile import PROFILE_NAMES
from harness.servers import ServerThread
from simulators import factory
from tests.support.postgres import throwaway_postgres


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, str]]:
    """FBS and the five debtor simulators as real servers; each test works in its own session."""
    servers = {"fbs": ServerThread(factory("fbs")(), name="fbs").start()}
    for profile in PROFILE_NAMES:  # the fuzzing tests send invalid HTTP on purpose: log errors only
        servers[profile] = ServerThread(factory("debtor")(profile=profile), name=profile, log_level="error").start()
    yield {name: server.url for name, server in servers.items()}
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


def fresh_postgres_database(cluster: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return cluster.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'engine.sqlite'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_cluster"))
