"""`oir service admin`: organisations, people and API tokens from the command line; the password from stdin
(never an argument), the token shown once and usable at once."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from harness.cli import app
from harness.service import Service, ServiceConfig, create_app


def test_an_administrator_creates_an_organisation_a_person_and_a_token(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "service")]
    runner = CliRunner()
    assert runner.invoke(app, ["service", "admin", "create-org", "KMD", "--kind", "vendor", *data]).exit_code == 0
    twice = runner.invoke(app, ["service", "admin", "create-org", "KMD", "--kind", "vendor", *data])
    assert twice.exit_code == 2 and "exists already" in twice.output
    made = runner.invoke(
        app,
        ["service", "admin", "create-user", "Dev@KMD.example", "--org", "KMD", "--role", "vendor", *data],
        input="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    wrong = runner.invoke(
        app,
        ["service", "admin", "create-user", "r@kmd.example", "--org", "KMD", "--role", "reviewer", *data],
        input="a long enough password\n",
    )
    assert wrong.exit_code == 2 and "a vendor organisation's people are vendors" in wrong.output
    short = runner.invoke(
        app,
        ["service", "admin", "create-user", "x@kmd.example", "--org", "KMD", "--role", "vendor", *data],
        input="short\n",
    )
    assert short.exit_code == 2 and "shorter than" in short.output
    token = runner.invoke(app, ["service", "admin", "create-token", "--user", "dev@kmd.example", *data])
    assert token.exit_code == 0
    value = token.stdout.strip().splitlines()[-1]
    assert value.startswith("oirs_")
    service = Service(ServiceConfig(data_dir=tmp_path / "service"))
    with TestClient(create_app(service)) as web:
        assert web.get("/api/systems", headers={"Authorization": f"Bearer {value}"}).json() == []
        form = web.get("/login").text
        csrf = form.split('name="csrf" value="')[1].split('"')[0]
        signed = web.post(
            "/login",
            data={"email": "dev@kmd.example", "password": "a long enough password", "csrf": csrf},
            follow_redirects=False,
        )
        assert signed.status_code == 303
