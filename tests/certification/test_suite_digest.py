"""The certificate's suite digest names exactly the harness that judged: it is computed from the packages
certification imports (not a hand-kept list), so changing the matchers, the runner, an action or the
verdict changes it, while a file that judges nothing (the CLI, the README) or one digested on its own
(a profile) does not; and a fresh certificate still verifies."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.profile import profile_path
from harness.certification import certificate as certificate_module
from harness.certification import suite
from harness.certification.certificate import build_certificate, sign, verify
from harness.certification.keys import harness_key
from harness.cli import app

runner = CliRunner()
PACKAGES = ("contracts", "scenarios", "integration", "simulators", "harness")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the harness's packages, as another installation would have them."""
    root = tmp_path_factory.mktemp("harness-copy")
    for package in PACKAGES:
        shutil.copytree(
            suite.PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy2(suite.PROJECT_ROOT / "schemathesis.toml", root / "schemathesis.toml")
    return root


def test_the_suite_holds_what_runs_and_judges_and_not_what_judges_nothing() -> None:
    files = suite.suite_files()
    for judged in (
        "scenarios/matchers.py",
        "scenarios/runner.py",
        "scenarios/loader.py",
        "scenarios/actions/debtor.py",
        "scenarios/suites/callbacks/annulment-closes-the-account.scenario.yaml",
        "harness/certification/judge.py",
        "harness/certification/probes.py",
        "harness/certification/templates/report.html.j2",
        "harness/scenario_world.py",
        "contracts/checks/pact/verify.py",
        "contracts/checks/fuzz.py",
        "integration/__init__.py",  # the engine every scenario runs (the package whole)
        "simulators/psrm/app.py",  # loaded by name (simulators.factory): no import graph shows it
        "schemathesis.toml",
    ):
        assert judged in files, judged
    for not_judging in ("harness/cli.py", "harness/rollout.py", "contracts/profiles/eg.yaml", "README.md"):
        assert not_judging not in files, not_judging
    assert "contracts/requirements.yaml" not in files  # digested on its own, under contracts
    assert all(path.is_file() for path in files.values())
    engine = {name for name in files if name.startswith("integration/")}
    assert {"integration/store.py", "integration/sortiment.yaml"} <= engine  # modules and data, walked


def test_the_digest_is_computed_from_the_tree(tree: Path) -> None:
    assert suite.suite_digest(tree) == suite.suite_digest()


@pytest.mark.parametrize(
    "changed",
    [
        "scenarios/matchers.py",
        "scenarios/runner.py",
        "scenarios/actions/engine.py",
        "harness/certification/judge.py",
        "scenarios/suites/callbacks/annulment-closes-the-account.scenario.yaml",
    ],
)
def test_changing_what_judges_changes_the_digest(tree: Path, changed: str) -> None:
    before = suite.suite_digest(tree)
    path = tree / changed
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# judged differently\n")
        assert suite.suite_digest(tree) != before
    finally:
        path.write_bytes(original)
    assert suite.suite_digest(tree) == before


def test_a_new_scenario_or_module_is_in_the_suite_without_listing_it(tree: Path) -> None:
    before = suite.suite_digest(tree)
    extra = tree / "scenarios" / "suites" / "routing" / "extra.scenario.yaml"
    extra.write_text("scenario: extra\n", encoding="utf-8")
    try:
        assert suite.suite_digest(tree) != before
    finally:
        extra.unlink()


def test_an_import_added_to_a_module_already_read_brings_its_module_into_the_suite(tree: Path) -> None:
    """The imports a module's source holds are kept per process (parsing is most of a digest's cost):
    an edit made after a digest was taken is still read."""
    judge = tree / "harness" / "certification" / "judge.py"
    original = judge.read_bytes()
    assert "harness/cli.py" not in suite.suite_files(tree)
    try:
        judge.write_bytes(original + b"\n\ndef _later() -> None:\n    import harness.cli  # noqa: F401\n")
        assert "harness/cli.py" in suite.suite_files(tree)
    finally:
        judge.write_bytes(original)
    assert "harness/cli.py" not in suite.suite_files(tree)


def test_what_judges_nothing_leaves_the_digest_alone(tree: Path) -> None:
    before = suite.suite_digest(tree)
    for name in ("harness/cli.py", "contracts/profiles/eg.yaml"):
        path = tree / name
        original = path.read_bytes()
        try:
            path.write_bytes(original + b"\n# nothing judged\n")
            assert suite.suite_digest(tree) == before, name
        finally:
            path.write_bytes(original)


def _certificate() -> dict[str, object]:
    return build_certificate(
        profile="eg",
        product="EG",
        debtor_url="https://eg-test.example/oir",
        simulated=False,
        seed=7,
        verdict="CERTIFIED",
        issued=datetime.now(UTC) - timedelta(hours=1),  # real time: verification judges expiry against now
        profile_file=profile_path("eg"),
        passed=["B01-CREATE-ACCOUNT"],
        failed=[],
        accepted_deviations=[],
        not_applicable=["B03-PAY"],
    )


def test_a_fresh_certificate_verifies_and_one_from_a_harness_that_judges_differently_does_not(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = sign(_certificate(), harness_key())
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    verified = runner.invoke(app, ["verify-certificate", str(path)])
    assert verified.exit_code == 0 and "VALID" in verified.output, verified.output

    matchers = tree / "scenarios" / "matchers.py"
    original = matchers.read_bytes()
    matchers.write_bytes(original.replace(b"==", b"!=", 1))  # a harness whose matcher judges differently
    try:
        monkeypatch.setattr(suite, "PROJECT_ROOT", tree)
        problems = verify(document, harness_key().public_key(), datetime.now(UTC)).problems
    finally:
        matchers.write_bytes(original)
    assert len(problems) == 1 and problems[0].startswith("digest of suite differs"), problems
    assert certificate_module.SCHEMA == document["certificate"]["schema"]  # type: ignore[index]
