"""The throwaway PostgreSQL cluster starts even when the port it drew is taken before the server binds it.

A port is free when drawn and bound by `pg_ctl` a moment later; any process may take it in between.
The cluster then draws another port instead of failing the tests or the benchmark that wanted it.
"""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine, text

import harness.postgres
from harness.servers import free_port
from tests.support.postgres import throwaway_postgres


def test_a_port_taken_before_the_server_binds_it_means_another_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        drawn = [taken.getsockname()[1]]

        def draw() -> int:  # the first draw hands out the port that another process then takes
            drawn.append(free_port())
            return drawn[-2]

        monkeypatch.setattr(harness.postgres, "free_port", draw)
        with throwaway_postgres() as url:
            engine = create_engine(url)
            try:
                with engine.connect() as connection:
                    assert connection.execute(text("select 1")).scalar_one() == 1
            finally:
                engine.dispose()
    assert url.endswith(f":{drawn[1]}/oir")  # the second port drawn, not the taken first
