"""Fixtures of the service tests: a service with two vendors and KOMBIT, and a test client of its pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from harness.service import Service, create_app
from tests.support.service_world import Clock, make_service


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """Its clock stands still at the moment the test starts (`oir verify-certificate` judges by real time)."""
    return make_service(tmp_path / "service", clock=Clock(datetime.now(UTC).replace(microsecond=0)))


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service), follow_redirects=False) as web:
        yield web
