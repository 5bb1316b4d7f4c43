"""No default trust, private keys kept private, no secrets in evidence or on the command line
(issue 11, items 3, 5, 7 and the secrets part of 8).

- An engine started without a callback token for every vendor it serves (or without its own token)
  refuses to start unless `--dev` says it is a local world of simulators, and a development engine
  says so on stderr, in its log and in /health. Without `--dev` the public token `oir-dev-token`
  opens no door.
- The harness's signing key is born 0600 in a 0700 folder whatever the umask, and a private key file
  that group or others can read is refused, naming the file and the chmod that fixes it.
- HAR evidence (and the scenario records saved beside it) carries no token: not in a header, not in
  a settings body, not in the settings a simulator echoes back.
- Every secret of the engine command can come from the environment or a file instead of `ps`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from contracts.municipalities import for_vendor
from harness.certification.errors import SigningKeyError
from harness.certification.keys import KEY_FILE, harness_key, signing_key
from harness.certification.probes import DebtorConversation
from harness.cli import app
from harness.scenario_world import SimulatedWorlds
from harness.servers import ServerThread
from integration import Engine, EngineSettings, ManualClock
from scenarios import load_scenario, run_scenario
from scenarios.events import EventBus
from scenarios.reporters import Recorder, write_folder, write_har
from scenarios.world import ScenarioWorld
from simulators import factory
from tests.support.client import wait_until
from tests.support.environment import ROOT, with_project_on_path, without_oir_settings
from tests.support.misbehaving import free_port

SUITES = ROOT / "scenarios" / "suites"
DEV_TOKEN = "oir-dev-token"
OPUS = for_vendor("kmd-opus")[0]
EG = for_vendor("eg")[0]
CLOSED = "http://127.0.0.1:9"  # nothing listens: these engines need no counterpart to show their trust


# ---- the engine: no default trust ----------------------------------------------------------------


class _Engine:
    """`oir engine serve` as its own process, its stderr in a file."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_file = tmp_path / f"engine-{uuid.uuid4().hex[:6]}.err"
        command = [sys.executable, "-m", "harness.cli", "engine", "serve", "--db"]
        command += [f"sqlite:///{tmp_path / 'engine.sqlite'}", "--fbs-url", CLOSED, "--port", str(self.port)]
        command += ["--debtor", f"kmd-opus={CLOSED}", "--interval", "5", *args]
        with self.stderr_file.open("wb") as stderr:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**with_project_on_path(without_oir_settings()), **(env or {})},
            )

    @property
    def stderr(self) -> str:
        return self.stderr_file.read_text(errors="replace")

    def health(self) -> dict[str, Any]:
        def answered() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"the engine exited with {self.process.returncode}:\n{self.stderr[-3000:]}")
            try:
                return httpx.get(f"{self.url}/health", timeout=2).json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                return None

        return wait_until(answered, timeout=60, what="the engine's /health")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _callback(url: str, token: str, cvr: str) -> httpx.Response:
    """A well-formed DækningAfskrivning for a claim the engine never registered."""
    return httpx.post(
        f"{url}/daekningafskrivning",
        json={
            "meddelelseId": str(uuid.uuid4()),
            "debitorkontoId": "K-1",
            "fordringId": "F-never-registered",
            "type": "DAEKNING",
            "beloebOere": 100,
            "dato": "2026-01-05",
        },
        headers={
            "Authorization": f"Bearer {token}",
            "X-Transaktion-Id": str(uuid.uuid4()),
            "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
            "X-Kommune-Cvr": cvr,
        },
        timeout=10,
    )


def test_the_engine_refuses_to_start_without_a_callback_token_for_every_vendor(tmp_path: Path) -> None:
    engine = _Engine(tmp_path, "--debtor", f"eg={CLOSED}", "--callback-token", "eg=eg-secret")
    try:
        returncode = engine.process.wait(timeout=60)  # an engine that starts anyway never returns here
    except subprocess.TimeoutExpired:
        engine.stop()
        pytest.fail("the engine started without a callback token for kmd-opus")
    assert returncode == 2
    assert "refusing to start the engine" in engine.stderr
    assert "no callback token for kmd-opus" in engine.stderr
    assert "no token for the engine's calls" in engine.stderr and "--dev" in engine.stderr


def test_the_public_development_token_is_no_production_credential() -> None:
    result = CliRunner().invoke(
        app,
        ["engine", "cycle", "--fbs-url", CLOSED, "--debtor", f"kmd-opus={CLOSED}", "--token", "engine-secret"],
        env={"OIR_CALLBACK_TOKENS": f"kmd-opus={DEV_TOKEN}"},
    )
    assert result.exit_code == 2
    assert "the callback token of kmd-opus is the public development token" in result.output


def test_a_development_engine_starts_and_says_so_on_stderr_in_the_log_and_in_health(tmp_path: Path) -> None:
    engine = _Engine(tmp_path, "--dev")
    try:
        health = engine.health()
        assert health["development"] is True
        assert any(DEV_TOKEN in warning and "kmd-opus" in warning for warning in health["warnings"])
        assert _callback(engine.url, DEV_TOKEN, OPUS.cvr).status_code == 422  # let in (an unknown claim)
    finally:
        engine.stop()
    lines = engine.stderr.splitlines()
    assert any(line.startswith("WARNING: development mode") for line in lines), engine.stderr
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(entry["event"] == "development-mode" and entry["warnings"] for entry in logged), engine.stderr


@pytest.mark.parametrize("given_by", ["environment", "files"])
def test_secrets_from_the_environment_or_files_and_the_dev_token_refused(tmp_path: Path, given_by: str) -> None:
    if given_by == "environment":
        args: tuple[str, ...] = ()
        env = {"OIR_ENGINE_TOKEN": "engine-secret", "OIR_CALLBACK_TOKENS": "kmd-opus=opus-secret, eg=eg-secret"}
    else:
        (tmp_path / "token").write_text("engine-secret\n")
        (tmp_path / "callbacks").write_text("# vendor callback tokens\nkmd-opus=opus-secret\neg=eg-secret\n")
        args = ("--token-file", str(tmp_path / "token"), "--callback-tokens-file", str(tmp_path / "callbacks"))
        env = {}
    engine = _Engine(tmp_path, "--debtor", f"eg={CLOSED}", *args, env=env)
    try:
        health = engine.health()
        assert "development" not in health and "warnings" not in health
        assert _callback(engine.url, "opus-secret", OPUS.cvr).status_code == 422  # authenticated: unknown claim
        assert _callback(engine.url, "eg-secret", EG.cvr).status_code == 422
        for cvr in (OPUS.cvr, EG.cvr, for_vendor("prisme-2009")[0].cvr):  # served, or no route at all
            refused = _callback(engine.url, DEV_TOKEN, cvr)
            assert refused.status_code == 401 and refused.json()["code"] == "OIR-401-UNAUTHENTICATED"
    finally:
        engine.stop()
    assert "WARNING" not in engine.stderr


def test_a_routing_table_trusts_no_callback_by_default(tmp_path: Path) -> None:
    """Built in code without callback tokens, an engine lets nobody report (it used to let oir-dev-token in)."""
    settings = EngineSettings(
        fbs_url=CLOSED, debtor_urls={"kmd-opus": CLOSED}, database_url=f"sqlite:///{tmp_path / 'e.sqlite'}"
    )
    engine = Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)))
    try:
        with ServerThread(engine.api(), name="engine-api", log_level="error") as api:
            refused = _callback(api.url, DEV_TOKEN, OPUS.cvr)
            assert refused.status_code == 401, refused.text
            assert "development" not in httpx.get(f"{api.url}/health").json()
    finally:
        engine.close()


# ---- the signing key -----------------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: whatever is created without an explicit mode is world-readable."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_harness_key_is_born_0600_in_a_0700_folder_whatever_the_umask(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_wider: list[str] = []
    chmod = os.chmod

    def watching_chmod(path: Any, mode: int, **kwargs: Any) -> None:  # a fix-up after the fact means a window
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & 0o077 and Path(path).name == KEY_FILE:
            seen_wider.append(f"{path} was {current:04o} before chmod")
        chmod(path, mode, **kwargs)

    monkeypatch.setattr(os, "chmod", watching_chmod)
    home = tmp_path / "fresh" / "oir"
    key = harness_key(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / KEY_FILE).stat().st_mode) == 0o600
    assert seen_wider == []
    assert sorted(p.name for p in home.iterdir()) == [KEY_FILE, "signing-key.pub.pem"]  # no temporary left
    assert harness_key(home).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=lambda mode: f"{mode:04o}")
def test_a_private_key_that_others_can_read_is_refused_naming_the_file(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "oir"
    key = harness_key(home)
    path = home / KEY_FILE
    path.chmod(mode)
    for load in (lambda: harness_key(home), lambda: signing_key(str(path))):
        with pytest.raises(SigningKeyError) as refused:
            load()
        assert str(path) in str(refused.value) and f"chmod 600 {path}" in str(refused.value)
        assert f"{mode:04o}" in str(refused.value)
    pem = path.read_text()  # the PEM text itself (a CI secret in OIR_SIGNING_KEY) has no file mode to judge
    assert signing_key(pem).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


def test_certify_refuses_a_signing_key_others_can_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIR_HOME", str(tmp_path / "home"))
    harness_key(tmp_path / "ci")
    path = tmp_path / "ci" / KEY_FILE
    path.chmod(0o644)
    result = CliRunner().invoke(
        app,
        ["certify", "--profile", "kmd-opus", "--debtor-url", CLOSED, "--out", str(tmp_path / "reports")],
        env={"OIR_SIGNING_KEY": str(path)},  # a key given by path, as CI would
    )
    assert result.exit_code == 2
    assert f"chmod 600 {path}" in " ".join(result.output.split())
    assert not (tmp_path / "reports").exists()


# ---- evidence ------------------------------------------------------------------------------------


def test_scenario_evidence_carries_no_token(tmp_path: Path) -> None:
    """The scenario points each debtor simulator at its engine with its callback token (a settings body,
    echoed back in the answer); neither that token nor the bearer token may reach the HAR or the records."""
    worlds = SimulatedWorlds.start()
    made: list[ScenarioWorld] = []

    def world(session: str) -> ScenarioWorld:
        # as a world whose debtors the runner itself points at the engine (a simulated world is made with
        # them pointed already, in process, and sends no token at all): the PATCH bodies must be redacted
        made.append(replace(worlds(session), callbacks_set=False))
        return made[-1]

    recorder = Recorder()
    bus = EventBus()
    bus.subscribe(recorder)
    try:
        scenario = load_scenario(SUITES / "routing" / "fee-to-the-right-debtor.scenario.yaml")
        assert run_scenario(scenario, "eg", world, bus).passed
    finally:
        worlds.stop()
    records = list(recorder.records.values())
    write_folder(records, tmp_path)
    for record in records:
        record.save(tmp_path / "records")  # what parallel workers keep beside the report
    engine: Any = made[0].engine
    secrets = {DEV_TOKEN, *engine.tokens.values()}
    assert len(secrets) == 6  # the development token and one callback token per profile
    written = [*(tmp_path / "evidence").glob("*.har"), *(tmp_path / "records").glob("*.json")]
    assert written
    for path in written:
        raw = path.read_text()
        leaked = [secret for secret in secrets if secret in raw]
        assert leaked == [], f"{path.name} carries {leaked}"
    har = json.loads((tmp_path / "evidence" / "fee-to-the-right-debtor[eg].har").read_text())
    settings = [e for e in har["log"]["entries"] if e["request"]["url"].endswith("/_sim/settings")]
    assert settings, "the scenario set the debtors' callback tokens"
    for entry in settings:
        assert json.loads(entry["request"]["postData"]["text"])["callback_token"] == "[REDACTED]"
        assert json.loads(entry["response"]["content"]["text"])["settings"]["callback_token"] == "[REDACTED]"


def test_probe_evidence_carries_no_token(tmp_path: Path) -> None:
    exchanges: list[dict[str, Any]] = []
    secret = {"callback_token": "cb-s3cret", "psrm_token": "psrm-s3cret"}
    with ServerThread(factory("debtor")(profile="kmd-opus"), name="debtor", log_level="error") as debtor:
        talk = DebtorConversation(debtor.url, DEV_TOKEN, OPUS, f"p-{uuid.uuid4().hex[:8]}", exchanges)
        assert talk.send("PATCH", "/_sim/settings", secret).status_code == 200
        talk.http.close()
    write_har(exchanges, tmp_path / "probes.har")
    raw = (tmp_path / "probes.har").read_text()
    for value in (DEV_TOKEN, *secret.values()):
        assert value not in raw and value not in json.dumps(exchanges)
    entry = json.loads(raw)["log"]["entries"][0]
    assert json.loads(entry["request"]["postData"]["text"]) == dict.fromkeys(secret, "[REDACTED]")
    echoed = json.loads(entry["response"]["content"]["text"])["settings"]
    assert echoed["callback_token"] == echoed["psrm_token"] == "[REDACTED]"
    assert {"name": "authorization", "value": "Bearer ***"} in entry["request"]["headers"]
    assert any("[REDACTED]" in line for line in talk.evidence) and "cb-s3cret" not in " ".join(talk.evidence)
