"""`oir certify` of several simulated profiles runs them side by side in processes of their own and
reports each in the profiles' order; a fixed port or a vendor's system keeps them one after another."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from harness.certification import commands
from harness.certification.commands import CertifyOptions
from harness.certification.target import Target
from tests.support.side_by_side import fake_certify


def _options(tmp_path: Path, **changes: object) -> CertifyOptions:
    base = CertifyOptions(
        profiles=[],
        out=tmp_path,
        seed=1,
        max_examples=1,
        debtor_url=None,
        debtor_token=None,
        callback_token="t",
        callback_port=0,
        psrm_port=0,
        callback_timeout=5.0,
        signing_key=None,
        validity_days=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_profiles_run_in_processes_of_their_own_and_come_back_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "certify_profile", fake_certify)
    out = io.StringIO()
    names = ["prisme-2015", "eg", "kmd-opus"]
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    outcomes = commands._certify_side_by_side(
        Console(file=out, width=200), _options(tmp_path), Target(), names, dict.fromkeys(names), now
    )
    assert list(outcomes) == names
    ran = [outcomes["prisme-2015"], outcomes["kmd-opus"]]
    assert [r["profile"] for r in ran] == ["prisme-2015", "kmd-opus"]  # type: ignore[index]
    assert all(r["pid"] != os.getpid() for r in ran)  # type: ignore[index]
    assert isinstance(outcomes["eg"], commands.CertificationError)
    assert "eg: no check matches 'nothing'" in str(outcomes["eg"])
    lines = out.getvalue().splitlines()
    for name in names:  # every profile's steps shown, each line naming its profile
        assert f"{name} [1/" in "\n".join(lines) and f"{name} [2/" in "\n".join(lines)


def test_side_by_side_only_where_worlds_are_independent(tmp_path: Path) -> None:
    two = ["kmd-opus", "eg"]
    assert commands._concurrently(_options(tmp_path), Target(), two)
    assert not commands._concurrently(_options(tmp_path), Target(), ["kmd-opus"])
    assert not commands._concurrently(_options(tmp_path, callback_port=8701), Target(), two)
    assert not commands._concurrently(_options(tmp_path, psrm_port=8702), Target(), two)
    vendor = Target(debtor_url="http://127.0.0.1:9")
    assert not vendor.simulated
    assert not commands._concurrently(_options(tmp_path), vendor, two)
