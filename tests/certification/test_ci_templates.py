"""The vendor CI templates cannot rot: both parse, every `oir` command and option they use exists in
the command line, secrets come from the CI's secret store, and the reports are published. They work as
written on hosted runners: the harness is reached through the tunnel the job opens, on the ports it
certifies with; a missing secret fails the job first; the certificate is verified with the key given to
the job, never one the run wrote; GitHub actions are pinned to commits, with the least permissions."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from harness.cli import app

CI = Path(__file__).resolve().parents[2] / "ci"
TEMPLATES = ["github-actions.yml", "gitlab-ci.yml"]


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _oir_calls(template: dict[str, Any]) -> list[list[str]]:
    """Each `oir ...` invocation in the template's shell lines, as its arguments."""
    calls = []
    lines = [line for text in _strings(template) for line in text.replace("\\\n", " ").splitlines()]
    for text in lines:
        tokens = shlex.split(text, comments=True)
        for i, token in enumerate(tokens):
            if token == "oir" or token.endswith("/oir"):
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in ("&&", ";", "|", "||"):
                        break
                    args.append(arg)
                calls.append(args)
    return calls


def _options(command: Any) -> set[str]:
    names = [
        opt
        for param in command.params
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]  # --no-wait of --wait/…
    ]
    return {opt for opt in names if opt.startswith("--")}


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_oir_option_in_the_template_exists(name: str) -> None:
    template = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    calls = _oir_calls(template)
    assert {call[0] for call in calls} == {"certify", "verify-certificate"}
    root: Any = typer.main.get_command(app)  # a click group (typer vendors its own click)
    for call in calls:
        command = root.commands.get(call[0])
        assert command is not None, f"{name}: oir {call[0]} does not exist"
        used = {arg.split("=", 1)[0] for arg in call[1:] if arg.startswith("--")}
        assert used, f"{name}: oir {call[0]} without options"
        assert used <= _options(command), f"{name}: oir {call[0]} has no {sorted(used - _options(command))}"
    certify = next(call for call in calls if call[0] == "certify")
    assert {"--profile", "--debtor-url"} <= set(certify)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_template_takes_secrets_from_ci_and_keeps_the_reports(name: str) -> None:
    text = (CI / name).read_text(encoding="utf-8")
    template = yaml.safe_load(text)
    root: Any = typer.main.get_command(app)  # a click group (typer vendors its own click)
    envvars = {p.envvar for p in root.commands["certify"].params if getattr(p, "envvar", None)}
    assert {"OIR_DEBTOR_TOKEN", "OIR_SIGNING_KEY", "OIR_CALLBACK_TOKEN"} <= envvars
    assert "--debtor-token" not in text  # a token on a command line would end in the job log
    if name == "github-actions.yml":
        job = template["jobs"]["certify"]
        assert job["env"]["OIR_DEBTOR_TOKEN"] == "${{ secrets.OIR_DEBTOR_TOKEN }}"
        uses = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
        assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "reports/*/junit.xml"
        assert uses["actions/upload-artifact"]["with"]["path"] == "reports/"
        assert uses["actions/upload-artifact"]["if"] == "always()"
    else:
        job = template["oir-certify"]
        assert job["artifacts"]["reports"]["junit"] == "reports/*/junit.xml"
        assert job["artifacts"]["paths"] == ["reports/"] and job["artifacts"]["when"] == "always"


def _template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    return loaded


def _shell(name: str) -> list[str]:
    """The job's shell text, in order: GitHub's `run:` steps, GitLab's `script:` items."""
    template = _template(name)
    if name == "github-actions.yml":
        return [step["run"] for step in template["jobs"]["certify"]["steps"] if "run" in step]
    return list(template["oir-certify"]["script"])


def _call(name: str, command: str) -> list[str]:
    return next(call for call in _oir_calls(_template(name)) if call[0] == command)


def _value(call: list[str], option: str) -> str:
    return call[call.index(option) + 1]


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_certificate_is_verified_with_the_key_given_to_the_job_never_one_the_run_wrote(name: str) -> None:
    verify = _call(name, "verify-certificate")
    assert _value(verify, "--public-key") == "$OIR_PUBLIC_KEY"  # given to the job; empty is refused
    text = (CI / name).read_text(encoding="utf-8")
    assert "signing-key.pub.pem" not in text and "--export-public-key" not in text
    if name == "github-actions.yml":
        job = _template(name)["jobs"]["certify"]
        assert job["env"]["OIR_PUBLIC_KEY"] in ("${{ vars.OIR_PUBLIC_KEY }}", "${{ secrets.OIR_PUBLIC_KEY }}")
        step = next(s for s in job["steps"] if "verify-certificate" in s.get("run", ""))
        assert step["if"] == "${{ !cancelled() }}"  # also after a NOT_CERTIFIED run, never after a cancel
    else:
        job = _template(name)["oir-certify"]
        assert "after_script" not in job  # GitLab ignores an after_script's failure: verification is in script
        assert any("verify-certificate" in item for item in job["script"])


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_missing_or_empty_secret_fails_the_job_before_anything_runs(name: str, tmp_path: Path) -> None:
    """The first shell text checks every secret and variable the job uses; run it as the runner would."""
    text = (CI / name).read_text(encoding="utf-8")
    used = set(re.findall(r"(?:secrets|vars)\.(OIR_\w+)", text)) | set(re.findall(r"\$\{?(OIR_\w+)", text))
    first = _shell(name)[0]
    checked = set(re.findall(r'^: "\$\{(\w+):\?', first, re.M))
    if name == "github-actions.yml":
        checked = {"OIR_PROFILE" if n == "PROFILE" else n for n in checked}
    assert used <= checked, f"not checked first: {sorted(used - checked)}"
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell
    every = {n: "x" for n in re.findall(r'^: "\$\{(\w+):\?', first, re.M)}
    clean = {"PATH": os.environ["PATH"]}
    ok = subprocess.run([shell, "-c", first], env={**clean, **every}, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    for missing in ("OIR_SIGNING_KEY", "OIR_CALLBACK_TOKEN", "OIR_PUBLIC_KEY"):
        for value in ("", None):  # what CI gives for a secret that is missing: empty, or nothing
            env = {**clean, **every}
            if value is None:
                env.pop(missing)
            else:
                env[missing] = value
            failed = subprocess.run([shell, "-c", first], env=env, capture_output=True, text=True, check=False)
            assert failed.returncode != 0 and missing in failed.stderr, (missing, value)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_harness_is_reachable_through_the_tunnel_on_the_ports_it_certifies_with(name: str) -> None:
    """Hosted runners accept no connections: the vendor's system reaches the harness through the job's
    SSH tunnel, at the URLs its system is configured with (advertised), on the ports the harness listens on."""
    certify = _call(name, "certify")
    assert _value(certify, "--callback-url") == "$OIR_CALLBACK_URL"
    assert _value(certify, "--psrm-url") == "$OIR_PSRM_URL"
    ports = {_value(certify, "--callback-port"), _value(certify, "--psrm-port")}
    ssh = next(line for text in _shell(name) for line in text.splitlines() if line.lstrip().startswith("ssh "))
    args = shlex.split(ssh)
    forwarded = {args[i + 1] for i, a in enumerate(args) if a == "-R"}
    assert forwarded == {f"{port}:127.0.0.1:{port}" for port in ports}  # the harness binds 127.0.0.1
    assert "ExitOnForwardFailure=yes" in args and "StrictHostKeyChecking=yes" in args
    assert "--bind" not in certify  # loopback: only the tunnel reaches it


def test_github_actions_are_pinned_to_commits_with_the_least_permissions() -> None:
    template = _template("github-actions.yml")
    text = (CI / "github-actions.yml").read_text(encoding="utf-8")
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action} is not pinned to a commit"
        assert re.search(r"# v\d+\.\d+\.\d+", comment), f"{action}: say which release the commit is"
    assert template["permissions"] == {}
    assert template["jobs"]["certify"]["permissions"] == {"checks": "write"}
    assert template["jobs"]["certify"]["runs-on"] == "ubuntu-latest"  # a hosted runner, as written


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_shell_text_of_the_job_is_valid_posix_shell(name: str) -> None:
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell
    for text in _shell(name):
        parsed = subprocess.run([shell, "-n", "-c", text], capture_output=True, text=True, check=False)
        assert parsed.returncode == 0, (text, parsed.stderr)
