"""The security suite's worlds: the same simulators and engine databases the engine tests use."""

from __future__ import annotations

from tests.integration.conftest import database_url, postgres_cluster, world

__all__ = ["database_url", "postgres_cluster", "world"]
