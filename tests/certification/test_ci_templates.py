"""The vendor CI templates cannot rot: both parse, every `oir` command and option they use exists in
the command line, secrets come from the CI's secret store, and the reports are published."""

from __future__ import annotations

import shlex
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
    for text in _strings(template):
        tokens = shlex.split(text.replace("\\\n", " "), comments=True)
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
