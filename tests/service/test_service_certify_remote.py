"""`oir certify --service URL --system NAME_OR_ID`: CI certifies a registered test system on KOMBIT's
service instead of locally — the run is started through the HTTP API, followed on the console, and its
verdict is the exit code (0 certified, 1 not, 2 a usage or connection error, a refused token, an unknown
system: each one line). The certification process is replaced by a tiny one that writes the verdict the
system's name asks for, so the test is about the client, in seconds; a real run is test_service_runs.py's."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from harness.service import Service, Workers, create_app
from harness.service.models import Run
from tests.support.service_world import make_service, user

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing answers HTTP there


class _Verdicts(Workers):
    """Workers whose run prints one check and writes results.json: NOT_CERTIFIED for a system named '… bad'."""

    def command(self, run: Run, out: Path) -> tuple[list[str], dict[str, str]]:
        bad = run.system.name.endswith("bad")
        results = {
            "verdict": "NOT_CERTIFIED" if bad else "CERTIFIED",
            "probes": [{"name": "registration", "status": "failed" if bad else "passed"}],
        }
        folder = out / run.system.profile
        script = (
            "import pathlib, sys; print('eg [1/1] probe registration (0 s)', flush=True); "
            f"folder = pathlib.Path({str(folder)!r}); folder.mkdir(parents=True); "
            f"(folder / 'results.json').write_text({json.dumps(results)!r}); sys.exit({1 if bad else 0})"
        )
        return [sys.executable, "-c", script], {}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str, dict[str, int], str]]:
    """The service on a free port with one worker; EG's two systems (good, bad), KMD's one; EG's CI token."""
    service = make_service(tmp_path_factory.mktemp("service-client"), poll_s=0.1)
    eg, kmd = user(service, "vendor@eg.example"), user(service, "vendor@kmd.example")
    ids = {
        name: service.register_system(person, name=name, profile="eg", debtor_url="simulated").id
        for person, name in ((eg, "EG good"), (eg, "EG bad"), (kmd, "KMD"))
    }
    token = service.create_token("vendor@eg.example", "ci")
    server = ServerThread(create_app(service, _Verdicts(service, 1)), name="service").start()
    try:
        yield service, server.url, ids, token
    finally:
        server.stop()


def _certify(*args: str, token: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["certify", *args], env={"OIR_SERVICE_TOKEN": token, "COLUMNS": "200"})
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    return result.exit_code, result.output


def test_a_certified_system_on_the_service_is_exit_0_with_its_verdict_and_report(
    served: tuple[Service, str, dict[str, int], str],
) -> None:
    service, url, ids, token = served
    code, output = _certify("--service", url, "--system", "eg GOOD", token=token)  # by name, any case
    assert code == 0, output
    run = int(re.findall(r"^run (\d+) of EG good \(eg\) on ", output, re.MULTILINE)[0])
    assert re.search(rf"^run {run} (queued|running)", output, re.MULTILINE)  # followed while it went on
    assert f"run {run}: finished, verdict CERTIFIED" in output and f"report: {url}/runs/{run}" in output
    assert service.run(user(service, "vendor@eg.example"), run).system_id == ids["EG good"]  # ran there


def test_a_system_not_certified_on_the_service_is_exit_1_naming_what_failed(
    served: tuple[Service, str, dict[str, int], str], tmp_path: Path
) -> None:
    _, url, ids, token = served
    (tmp_path / "token").write_text(token + "\n")
    code, output = _certify("--service", url, "--system", str(ids["EG bad"]), "--token-file", str(tmp_path / "token"))
    assert code == 1, output
    assert "verdict NOT_CERTIFIED" in output and "failed: registration" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system", "EG good", "--token", "oirs_never-made"], "answered 401 to GET"),
        (["--system", "no such"], "--system 'no such': no such test system among yours: EG good (1), EG bad (2)"),
        (["--system", "3"], "--system '3': no such test system among yours"),  # KMD's: not EG's to see
        (["--system", "EG good", "--profile", "kmd-opus"], "--profile kmd-opus: test system EG good implements eg"),
        (["--system", "EG good", "--debtor-url", CLOSED], "--debtor-url belong to a local run"),
        ([], "--service needs --system NAME_OR_ID"),
    ],
)
def test_a_refused_or_wrong_request_is_one_line_and_exit_2(
    served: tuple[Service, str, dict[str, int], str], args: list[str], message: str
) -> None:
    _, url, _, token = served
    code, output = _certify("--service", url, *args, token=token)
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1 and message in output, output


def test_an_unreachable_service_or_no_token_is_one_line_and_exit_2() -> None:
    code, output = _certify("--service", CLOSED, "--system", "1", token="oirs_x")
    assert code == 2 and output.startswith("error: cannot reach the service at http://127.0.0.1:9/api/systems")
    assert len(output.strip().splitlines()) == 1
    code, output = _certify("--service", CLOSED, "--system", "1")
    assert code == 2 and "--service needs a token: set OIR_SERVICE_TOKEN" in output
