"""Test-wide settings: no analytics from Pact, and the repository root importable without install."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_ignore_collect(collection_path: Path, config: object) -> bool | None:
    """The Pact tests run in their own invocations (consumer, then provider; `.ci/run`), never twice:
    the default collection skips `tests/pact` unless it was named on the command line."""
    pact_root = ROOT / "tests" / "pact"
    if pact_root not in (collection_path, *collection_path.parents):
        return None
    args = [Path(a.split("::")[0]).resolve() for a in getattr(config, "args", [])]
    return not any(a == pact_root or pact_root in a.parents for a in args)


@pytest.fixture(scope="session")
def certified_prisme_2009(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete simulated certification report folder for the whole session (tests/support/certified.py)."""
    from tests.support.certified import certify_prisme_2009

    return certify_prisme_2009(tmp_path_factory.mktemp("certify") / "prisme-2009")
