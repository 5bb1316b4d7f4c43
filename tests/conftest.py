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


SEPARATE_RUNS = (ROOT / "tests" / "pact", ROOT / "tests" / "vendor_mode")


def pytest_ignore_collect(collection_path: Path, config: object) -> bool | None:
    """Some folders run in their own invocations (`.ci/run`), never twice: the Pact tests (consumer, then
    provider) and the vendor-mode certifications, which take minutes. The default collection skips them
    unless one was named on the command line."""
    for root in SEPARATE_RUNS:
        if root not in (collection_path, *collection_path.parents):
            continue
        args = [Path(a.split("::")[0]).resolve() for a in getattr(config, "args", [])]
        return not any(a == root or root in a.parents for a in args)
    return None


@pytest.fixture(scope="session")
def certified_prisme_2009(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete simulated certification report folder for the whole session (tests/support/certified.py)."""
    from tests.support.certified import certify_prisme_2009

    return certify_prisme_2009(tmp_path_factory.mktemp("certify") / "prisme-2009")
