"""A throwaway PostgreSQL cluster for tests (the core is `harness.postgres`), skipped with a clear
reason where the server binaries are absent (`.ci/run` installs them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from harness.postgres import PostgresUnavailable
from harness.postgres import throwaway_postgres as _throwaway_postgres


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    with ExitStack() as stack:
        try:
            url = stack.enter_context(_throwaway_postgres())
        except PostgresUnavailable as reason:
            pytest.skip(str(reason))
        yield url
