"""The service's security: no page or API answers without a session or token, a form without its CSRF
token is refused, another organisation's ids answer 404 (pages and API), passwords and tokens are
never stored in clear, the audit trail is append-only, and sign-ins are refused (429) after a few failures
a minute per account or address."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from harness.service import Service
from harness.service.models import ApiToken, AuditEvent, TestSystem, User
from tests.support.service_world import PASSWORD, Clock, csrf_of, finished_run, sign_in, user


def test_no_page_or_api_answers_without_a_session_or_token(client: TestClient, service: Service) -> None:
    run = finished_run(service, "vendor@eg.example")
    for path in (
        "/",
        "/systems",
        "/systems/1",
        "/runs",
        f"/runs/{run}",
        f"/runs/{run}/files/index.html",
        f"/runs/{run}/certificate.json",
        "/review",
        "/board",
        "/audit",
    ):
        answer = client.get(path)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), path
    for method, path in (
        ("GET", "/api/systems"),
        ("GET", "/api/runs"),
        ("GET", f"/api/runs/{run}"),
        ("POST", "/api/systems/1/runs"),
    ):
        answer = client.request(method, path)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "OIR-401-UNAUTHENTICATED"
    answer = client.get("/api/runs", headers={"Authorization": "Bearer oirs_not-a-token"})
    assert answer.status_code == 401
    assert client.get("/public-key.pem").text.startswith("-----BEGIN PUBLIC KEY-----")  # public on purpose


def test_a_wrong_password_gives_no_session(client: TestClient) -> None:
    form = client.get("/login")
    answer = client.post(
        "/login", data={"email": "vendor@eg.example", "password": "wrong-password", "csrf": csrf_of(form.text)}
    )
    assert answer.status_code == 401 and "Wrong e-mail or password" in answer.text
    assert client.get("/systems").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, service: Service) -> None:
    form = client.get("/login")
    client.cookies.clear()  # the sign-in form's own token (double-submit cookie) is gone
    refused = client.post(
        "/login",
        data={"email": "vendor@eg.example", "password": PASSWORD["vendor@eg.example"], "csrf": csrf_of(form.text)},
    )
    assert refused.status_code == 403 and "oir_session" not in refused.cookies
    csrf = sign_in(client, "vendor@eg.example")
    system = {"name": "EG test", "profile": "eg", "debtor_url": "simulated"}
    assert client.post("/systems", data=system).status_code == 403
    assert client.post("/systems", data={**system, "csrf": "forged"}).status_code == 403
    assert service.systems(user(service, "vendor@eg.example")) == []  # nothing was registered
    assert client.post("/systems", data={**system, "csrf": csrf}).status_code == 303
    assert [s.name for s in service.systems(user(service, "vendor@eg.example"))] == ["EG test"]
    # another session's token is no token for this one
    other = TestClient(client.app, follow_redirects=False)
    other_csrf = sign_in(other, "vendor@eg.example")
    assert other_csrf != csrf
    assert client.post("/systems", data={**system, "csrf": other_csrf}).status_code == 403


def test_another_organisations_ids_give_404_in_pages_and_api(client: TestClient, service: Service) -> None:
    run = finished_run(service, "vendor@eg.example")
    system = service.run(user(service, "vendor@eg.example"), run).system_id
    kmd_token = service.create_token("vendor@kmd.example", "kmd-ci")
    eg_token = service.create_token("vendor@eg.example", "eg-ci")
    csrf = sign_in(client, "vendor@kmd.example")
    for path in (f"/systems/{system}", f"/runs/{run}", f"/runs/{run}/files/index.html"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/systems/{system}/runs", data={"csrf": csrf}).status_code == 404
    assert client.post(f"/runs/{run}/rerun", data={"csrf": csrf}).status_code == 404
    assert "EG test" not in client.get("/systems").text and f'/runs/{run}"' not in client.get("/runs").text
    kmd = {"Authorization": f"Bearer {kmd_token}"}
    assert client.get(f"/api/runs/{run}", headers=kmd).status_code == 404
    assert client.get("/api/runs/999999", headers=kmd).status_code == 404  # the same answer as for no such run
    assert client.post(f"/api/systems/{system}/runs", headers=kmd).status_code == 404
    assert client.get("/api/systems", headers=kmd).json() == []
    assert client.get("/api/runs", headers=kmd).json() == []
    assert len(service.runs(user(service, "reviewer@kombit.example"))) == 1  # nothing was started
    eg = {"Authorization": f"Bearer {eg_token}"}
    assert client.get(f"/api/runs/{run}", headers=eg).json()["status"] == "finished"
    reviewer = TestClient(client.app, follow_redirects=False)
    sign_in(reviewer, "reviewer@kombit.example")
    assert reviewer.get(f"/runs/{run}").status_code == 200  # KOMBIT sees every organisation's runs
    report = reviewer.get(f"/runs/{run}/files/index.html")
    assert report.text.endswith("<h1>EG report</h1>")
    # what a vendor's system answered is quoted in the report: it opens sandboxed, with no script
    assert report.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert "script-src" not in reviewer.get(f"/runs/{run}").headers["content-security-policy"]
    assert reviewer.get(f"/runs/{run}/files/../../../service.db").status_code == 404  # nothing outside the report


def test_passwords_tokens_and_credentials_are_never_stored_in_clear(client: TestClient, service: Service) -> None:
    token = service.create_token("vendor@eg.example", "eg-ci")
    csrf = sign_in(client, "vendor@eg.example")
    debtor_token = "vendor-debtor-token-4711"
    answer = client.post(
        "/systems",
        data={
            "csrf": csrf,
            "name": "EG real",
            "profile": "eg",
            "debtor_url": "https://eg-test.example/oir",
            "debtor_token": debtor_token,
        },
    )
    assert answer.status_code == 303
    cookie = client.cookies["oir_session"]
    with service.store() as db:
        person = db.scalar(select(User).where(User.email == "vendor@eg.example"))
        assert person is not None and person.password_hash.startswith("$argon2id$")
        stored = db.scalar(select(ApiToken.token_hash))
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        system = db.scalar(select(TestSystem))
        assert system is not None and debtor_token.encode() not in (system.credentials or b"")
    assert service.vault.open(system.credentials)["debtorToken"] == debtor_token  # yet the run can have it
    everything = b"".join(p.read_bytes() for p in Path(service.data_dir).rglob("*") if p.is_file())
    for secret in (PASSWORD["vendor@eg.example"], token, cookie, debtor_token):
        assert secret.encode() not in everything, secret
    assert debtor_token not in client.get(f"/systems/{system.id}").text


def test_the_audit_trail_records_every_action_and_cannot_be_changed(client: TestClient, service: Service) -> None:
    run = finished_run(service, "vendor@eg.example")
    csrf = sign_in(client, "reviewer@kombit.example")
    client.post(f"/runs/{run}/review", data={"csrf": csrf, "decision": "reject", "comment": "too few checks"})
    with service.store() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert {"create-org", "create-user", "login", "register-system", "start-run", "review-rejected"} <= set(actions)
    page = client.get("/audit").text
    assert "review-rejected" in page and "too few checks" in page
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.request(method, "/audit", data={"csrf": csrf}).status_code == 405
    for statement in ("UPDATE svc_audit SET actor = 'nobody'", "DELETE FROM svc_audit"):
        with pytest.raises(DBAPIError, match="append-only"), service.store.begin() as db:
            db.execute(text(statement))
    with service.store() as db:
        assert [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))] == actions
    vendor = TestClient(client.app, follow_redirects=False)
    sign_in(vendor, "vendor@eg.example")
    assert vendor.get("/audit").status_code == 404  # the trail is KOMBIT's


def test_what_people_type_is_shown_as_text_never_as_markup(client: TestClient, service: Service) -> None:
    csrf = sign_in(client, "vendor@eg.example")
    name = "<script>alert('x')</script>"
    answer = client.post("/systems", data={"csrf": csrf, "name": name, "profile": "eg", "debtor_url": "simulated"})
    page = client.get(answer.headers["location"]).text
    assert name not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def _try(client: TestClient, email: str, password: str, accept: str = "text/html") -> httpx.Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        headers={"Accept": accept},
    )


def test_a_few_failed_sign_ins_a_minute_per_account_then_every_attempt_is_refused_unheard(
    client: TestClient, service: Service
) -> None:
    """Password guessing at five tries a minute: the sixth, even with the right password, answers 429 — a
    problem+json to a client that asks for JSON — until the minute has passed; other accounts are not
    affected."""
    assert isinstance(service.config.clock, Clock)
    for _ in range(5):
        assert _try(client, "vendor@eg.example", "guess").status_code == 401
    refused = _try(client, "Vendor@EG.example", PASSWORD["vendor@eg.example"])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60", refused.text
    assert "too many failed sign-ins" in refused.text and "oir_session" not in refused.cookies
    problem = _try(client, "vendor@eg.example", PASSWORD["vendor@eg.example"], accept="application/json")
    assert problem.status_code == 429 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["code"] == "OIR-429-TOO-MANY-SIGN-INS"
    assert _try(client, "vendor@kmd.example", PASSWORD["vendor@kmd.example"]).status_code == 303  # another account
    service.config.clock.moment += timedelta(seconds=61)
    assert _try(client, "vendor@eg.example", PASSWORD["vendor@eg.example"]).status_code == 303
    with service.store() as db:
        actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "vendor@eg.example")))
    assert actions.count("login-refused") == 5 and actions.count("login-throttled") == 2


def test_many_failed_sign_ins_from_one_address_refuse_its_next_attempt_at_any_account(
    client: TestClient, service: Service
) -> None:
    for n in range(20):  # twenty accounts guessed at once each, from one address (the test client's)
        assert _try(client, f"someone{n}@kmd.example", "guess").status_code == 401
    assert _try(client, "vendor@kmd.example", PASSWORD["vendor@kmd.example"]).status_code == 429
