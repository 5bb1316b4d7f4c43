"""Helpers of the service tests: a service on a temporary data dir with three organisations (two vendors
and KOMBIT) and their people, and helpers to sign in through the pages (reading each form's CSRF token as
a browser would) and to make a finished run without running a certification (for the review tests:
milliseconds, not seconds)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from contracts.profile import profile_path
from harness.certification.certificate import build_certificate, sign
from harness.certification.keys import harness_key
from harness.service import Service, ServiceConfig
from harness.service.models import FINISHED, PENDING, Run, User

PASSWORD = {
    "vendor@kmd.example": "kmd-secret-password",
    "vendor@eg.example": "eg-secret-password",
    "reviewer@kombit.example": "kombit-secret-password",
}
QUICK = ("--max-examples", "1", "--no-scenarios")  # a real certification of one profile in seconds


@dataclass
class Clock:
    moment: datetime

    def __call__(self) -> datetime:
        return self.moment


def make_service(folder: Path, **options: object) -> Service:
    service = Service(ServiceConfig(data_dir=folder, **options))  # type: ignore[arg-type]
    service.create_org("KMD", "vendor")
    service.create_org("EG", "vendor")
    service.create_org("KOMBIT", "kombit")
    service.create_user("vendor@kmd.example", "KMD", "vendor", PASSWORD["vendor@kmd.example"])
    service.create_user("vendor@eg.example", "EG", "vendor", PASSWORD["vendor@eg.example"])
    service.create_user("reviewer@kombit.example", "KOMBIT", "reviewer", PASSWORD["reviewer@kombit.example"])
    return service


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found[1]


def sign_in(web: TestClient | httpx.Client, email: str) -> str:
    """Sign `web` in as `email`; the session's CSRF token."""
    form = web.get("/login")
    answer = web.post("/login", data={"email": email, "password": PASSWORD[email], "csrf": csrf_of(form.text)})
    assert answer.status_code == 303, answer.text
    return csrf_of(web.get("/runs").text)


def user(service: Service, email: str) -> User:
    with service.store() as db:
        found = db.scalar(select(User).where(User.email == email))
    assert found is not None, email
    return found


def finished_run(
    service: Service,
    email: str,
    *,
    failed: tuple[str, ...] = (),
    not_verified: tuple[str, ...] = (),
    passed: tuple[str, ...] = ("B01-CREATE-ACCOUNT",),
) -> int:
    """A simulated eg system of `email`'s organisation and a run of it that finished with a certificate of
    its own (signed by the runner's key, as `oir certify` in a worker would have), waiting for review."""
    person = user(service, email)
    system = service.register_system(person, name="EG test", profile="eg", debtor_url="simulated")
    run = service.start_run(person, system.id)
    certificate = build_certificate(
        profile="eg",
        product="EG",
        debtor_url="http://127.0.0.1:1",
        simulated=True,
        seed=1,
        verdict="NOT_CERTIFIED" if failed else "CERTIFIED",
        issued=service.now(),
        profile_file=profile_path("eg"),
        passed=list(passed),
        failed=list(failed),
        accepted_deviations=[],
        not_verified=list(not_verified),
    )
    folder = service.runs_dir / str(run.id) / "report" / "eg"
    folder.mkdir(parents=True)
    (folder / "certificate.json").write_text(json.dumps(sign(certificate, harness_key(service.runner_home))))
    (folder / "index.html").write_text("<!doctype html><title>report</title><h1>EG report</h1>")
    with service.store.begin() as db:
        row = db.get(Run, run.id)
        assert row is not None
        row.status, row.verdict, row.review, row.exit_code = FINISHED, certificate["verdict"], PENDING, 0
    return run.id
