"""Certification tests keep the harness's own signing key in a temporary OIR_HOME, never in ~/.config."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def oir_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.getbasetemp() / "oir-home"
    monkeypatch.setenv("OIR_HOME", str(home))
    for name in ("OIR_SIGNING_KEY", "OIR_PUBLIC_KEY", "OIR_DEBTOR_TOKEN", "OIR_CALLBACK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home
