"""The service's web application: server-rendered pages (Jinja2, plain HTML forms that work without
JavaScript) for people, and a small JSON API under `/api/` for CI.

Pages need a session: a random token in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), of which
the database keeps only the hash. Every form carries the session's CSRF token and every POST is refused
(403) without it; the sign-in form, before any session exists, uses a double-submit cookie. The API
needs a bearer token (`oir service admin create-token`) and takes no cookies, so it needs no CSRF token.
After five failed sign-ins in a minute for one account, or twenty from one address, the next attempts
answer 429 (with Retry-After; problem+json to a client asking for JSON) without a password being checked.
What a vendor may not see — another organisation's system, run, report or certificate — answers 404,
exactly like an id that does not exist, in pages and API alike. `/public-key.pem` is public on purpose:
it is what `oir verify-certificate --public-key` needs to check KOMBIT's certificates.

A running run's page refreshes itself (`<meta http-equiv="refresh">`): live progress with no script.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.problems import PROBLEM_MEDIA_TYPE, Problem
from contracts.profile import PROFILE_NAMES

from .board import NEAR_DAYS, live_board
from .compare import checks_of, matrix, trend
from .core import ForbiddenError, NotFoundError, Service, ServiceError, TooManyAttemptsError
from .models import APPROVED, FINISHED, PENDING, QUEUED, REJECTED, RUNNING, Run, User, WebSession
from .runner import PROGRESS, Workers
from .secrets import new_token, same

COOKIE = "oir_session"
# the pages need no script at all; a report file (which quotes what a vendor's system answered) is served
# sandboxed: no script, and an origin of its own, so nothing in it can act with the reader's session
_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_REPORT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
LOGIN_CSRF = "oir_login_csrf"
# autoescape for every template: starlette's default escapes only files named *.html, and ours are *.html.j2
_TEMPLATES = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
)


class _LoginRequired(Exception):
    pass


class _CsrfRefused(Exception):
    pass


def create_app(service: Service, workers: Workers | None = None) -> FastAPI:
    """The application; `workers` (started and stopped with it) run the queued runs."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if workers is not None:
            workers.start()
        try:
            yield
        finally:
            if workers is not None:
                workers.stop()

    app = FastAPI(title="ØiR certification service", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    _handlers(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _PAGE_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def page(request: Request, name: str, session: WebSession | None, status: int = 200, **context: Any) -> Response:
        context.update(
            me=session.user if session else None, csrf=session.csrf if session else "", profiles=PROFILE_NAMES
        )
        return _TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def signed_in(request: Request) -> WebSession:
        found = service.session(request.cookies.get(COOKIE))
        if found is None:
            raise _LoginRequired()
        return found

    async def posted(request: Request) -> tuple[WebSession, FormData]:
        session = signed_in(request)
        form = await request.form()
        if not same(str(form.get("csrf", "")), session.csrf):
            raise _CsrfRefused()
        return session, form

    def refused(request: Request, session: WebSession, exc: ServiceError, template: str, **context: Any) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, ForbiddenError) else 400
        if status == 404:
            return page(request, "error.html.j2", session, 404, message="Not found")
        return page(request, template, session, status, error=str(exc), **context)

    # --- sign-in ----------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        token = new_token("csrf")
        response = page(request, "login.html.j2", None, login_csrf=token)
        _cookie(request, response, LOGIN_CSRF, token, max_age=3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(LOGIN_CSRF, "")
        if not expected or not same(str(form.get("csrf", "")), expected):
            raise _CsrfRefused()
        # a password hash takes a while on purpose: off the event loop
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        try:
            cookie = await run_in_threadpool(service.login, email, password, _address(request))
        except TooManyAttemptsError as exc:
            headers = {"Retry-After": str(exc.retry_after)}
            if "json" in request.headers.get("accept", ""):
                raise Problem(
                    429, "OIR-429-TOO-MANY-SIGN-INS", "Too many failed sign-ins", str(exc), headers=headers
                ) from exc
            token = new_token("csrf")
            response = page(request, "login.html.j2", None, 429, login_csrf=token, error=f"Refused: {exc}.")
            response.headers.update(headers)
            _cookie(request, response, LOGIN_CSRF, token, max_age=3600)
            return response
        if cookie is None:
            token = new_token("csrf")
            response = page(request, "login.html.j2", None, 401, login_csrf=token, error="Wrong e-mail or password.")
            _cookie(request, response, LOGIN_CSRF, token, max_age=3600)
            return response
        response = RedirectResponse("/", status_code=303)
        _cookie(request, response, COOKIE, cookie, max_age=12 * 3600)
        response.delete_cookie(LOGIN_CSRF)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await posted(request)
        service.logout(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        session = signed_in(request)
        return RedirectResponse("/review" if session.user.kombit else "/systems", status_code=303)

    # --- test systems ----------------------------------------------------------------------------

    @app.get("/systems", response_class=HTMLResponse)
    def systems(request: Request) -> Response:
        session = signed_in(request)
        return page(request, "systems.html.j2", session, systems=service.systems(session.user))

    @app.post("/systems")
    async def register(request: Request) -> Response:
        session, form = await posted(request)
        try:
            system = service.register_system(
                session.user,
                name=str(form.get("name", "")),
                profile=str(form.get("profile", "")),
                debtor_url=str(form.get("debtor_url", "")),
                debtor_token=str(form.get("debtor_token", "")) or None,
                callback_token=str(form.get("callback_token", "")) or None,
                test_control=form.get("test_control") == "on",
            )
        except ServiceError as exc:
            return refused(request, session, exc, "systems.html.j2", systems=service.systems(session.user))
        return RedirectResponse(f"/systems/{system.id}", status_code=303)

    @app.get("/systems/{system_id}", response_class=HTMLResponse)
    def system(request: Request, system_id: int) -> Response:
        session = signed_in(request)
        try:
            found = service.system(session.user, system_id)
        except NotFoundError:
            return page(request, "error.html.j2", session, 404, message="Not found")
        runs = [r for r in service.runs(session.user) if r.system_id == found.id]
        history = trend(service, session.user, found.id)
        return page(
            request,
            "system.html.j2",
            session,
            system=found,
            runs=runs,
            trend=history,
            counterparts=service.counterparts(found),
        )

    @app.post("/systems/{system_id}/runs")
    async def start(request: Request, system_id: int) -> Response:
        session, _ = await posted(request)
        try:
            run = service.start_run(session.user, system_id)
        except ServiceError as exc:
            return refused(request, session, exc, "error.html.j2", message=str(exc))
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    # --- runs -------------------------------------------------------------------------------------

    @app.get("/runs", response_class=HTMLResponse)
    def runs(request: Request) -> Response:
        session = signed_in(request)
        return page(request, "runs.html.j2", session, runs=service.runs(session.user), title="Runs")

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: int) -> Response:
        session = signed_in(request)
        try:
            run = service.run(session.user, run_id)
            reviews, deviations = service.reviews(session.user, run_id)
        except NotFoundError:
            return page(request, "error.html.j2", session, 404, message="Not found")
        return page(
            request, "run.html.j2", session, **_run_context(service, run), reviews=reviews, deviations=deviations
        )

    @app.post("/runs/{run_id}/rerun")
    async def rerun(request: Request, run_id: int) -> Response:
        session, _ = await posted(request)
        try:
            old = service.run(session.user, run_id)
            run = service.start_run(session.user, old.system_id, rerun_of=old.id)
        except ServiceError as exc:
            return refused(request, session, exc, "error.html.j2", message=str(exc))
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    @app.get("/runs/{run_id}/files/{path:path}")
    def run_file(request: Request, run_id: int, path: str) -> Response:
        session = signed_in(request)
        try:
            run = service.run(session.user, run_id)
        except NotFoundError:
            return page(request, "error.html.j2", session, 404, message="Not found")
        base = service.report_folder(run).resolve()
        wanted = (base / path).resolve()
        if not wanted.is_relative_to(base) or not wanted.is_file():
            return page(request, "error.html.j2", session, 404, message="Not found")
        kind = mimetypes.guess_type(wanted.name)[0] or "text/plain"
        return FileResponse(wanted, media_type=kind, headers={"Content-Security-Policy": _REPORT_POLICY})

    @app.get("/runs/{run_id}/certificate.json")
    def certificate(request: Request, run_id: int) -> Response:
        session = signed_in(request)
        try:
            document = service.certificate(session.user, run_id)
        except NotFoundError:
            document = None
        if document is None:
            return page(request, "error.html.j2", session, 404, message="Not found")
        return Response(
            document,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="certificate-run-{run_id}.json"'},
        )

    # --- review -----------------------------------------------------------------------------------

    @app.get("/review", response_class=HTMLResponse)
    def review_queue(request: Request) -> Response:
        session = signed_in(request)
        if not session.user.kombit:
            return page(request, "error.html.j2", session, 404, message="Not found")
        waiting = service.runs(session.user, review=PENDING)
        return page(request, "runs.html.j2", session, runs=waiting, title="Review queue")

    @app.post("/runs/{run_id}/review")
    async def review(request: Request, run_id: int) -> Response:
        session, form = await posted(request)
        try:
            deviations = _deviations(form)
            decision = {"approve": APPROVED, "reject": REJECTED}.get(str(form.get("decision", "")), "")
            service.review(session.user, run_id, decision, str(form.get("comment", "")), deviations)
        except ServiceError as exc:
            if isinstance(exc, NotFoundError | ForbiddenError):
                return page(request, "error.html.j2", session, 404, message="Not found")
            run = service.run(session.user, run_id)
            reviews, kept = service.reviews(session.user, run_id)
            context = _run_context(service, run)
            return page(
                request, "run.html.j2", session, 400, error=str(exc), reviews=reviews, deviations=kept, **context
            )
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    # --- board and audit --------------------------------------------------------------------------

    @app.get("/board", response_class=HTMLResponse)
    def board(request: Request) -> Response:
        session = signed_in(request)
        made, waves = live_board(service)
        today = service.now().date()
        return page(request, "board.html.j2", session, board=made, waves=waves, today=today, near_days=NEAR_DAYS)

    @app.post("/board/waves/{wave}")
    async def plan_wave(request: Request, wave: int) -> Response:
        session, form = await posted(request)
        text = str(form.get("planned", "")).strip()
        try:
            planned = date.fromisoformat(text) if text else None
            service.plan_wave(session.user, wave, planned)
        except ValueError as exc:
            if isinstance(exc, NotFoundError | ForbiddenError):
                return page(request, "error.html.j2", session, 404, message="Not found")
            made, waves = live_board(service)
            return page(
                request,
                "board.html.j2",
                session,
                400,
                board=made,
                waves=waves,
                today=service.now().date(),
                near_days=NEAR_DAYS,
                error=f"planned date {text!r}: {exc}",
            )
        return RedirectResponse("/board", status_code=303)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> Response:
        session = signed_in(request)
        try:
            events = service.audit_trail(session.user)
        except NotFoundError:
            return page(request, "error.html.j2", session, 404, message="Not found")
        return page(request, "audit.html.j2", session, events=events)

    @app.get("/compare", response_class=HTMLResponse)
    def compare(request: Request) -> Response:
        session = signed_in(request)
        try:
            found = matrix(service, session.user)
        except NotFoundError:
            return page(request, "error.html.j2", session, 404, message="Not found")
        return page(request, "compare.html.j2", session, matrix=found)

    @app.get("/public-key.pem")
    def public_key() -> Response:
        return Response(service.public_key_pem(), media_type="application/x-pem-file")

    # --- the HTTP API -----------------------------------------------------------------------------

    def api_user(request: Request) -> User:
        user = service.token_user(request.headers.get("authorization"))
        if user is None:
            raise Problem(
                401, "OIR-401-UNAUTHENTICATED", "A bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return user

    def api_call(request: Request, work: Callable[[User], Any]) -> Any:
        user = api_user(request)
        try:
            return work(user)
        except NotFoundError as exc:
            raise Problem(404, "OIR-404-NOT-FOUND", "Not found", detail=str(exc)) from exc
        except ForbiddenError as exc:
            raise Problem(403, "OIR-403-FORBIDDEN", "Not allowed", detail=str(exc)) from exc
        except ServiceError as exc:
            raise Problem(422, "OIR-422-REFUSED", "Refused", detail=str(exc)) from exc

    @app.get("/api/systems")
    def api_systems(request: Request) -> Any:
        return api_call(request, lambda user: [_system_json(s, service.counterparts(s)) for s in service.systems(user)])

    @app.post("/api/systems/{system_id}/runs", status_code=202)
    def api_start(request: Request, system_id: int) -> Any:
        return api_call(request, lambda user: _run_json(service, service.start_run(user, system_id)))

    @app.get("/api/runs")
    def api_runs(request: Request) -> Any:
        return api_call(request, lambda user: [_run_json(service, r) for r in service.runs(user)])

    @app.get("/api/runs/{run_id}")
    def api_run(request: Request, run_id: int) -> Any:
        return api_call(request, lambda user: _run_json(service, service.run(user, run_id), full=True))

    return app


def _handlers(app: FastAPI) -> None:
    def api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return JSONResponse(exc.body(request.url.path), exc.status, media_type=PROBLEM_MEDIA_TYPE, headers=exc.headers)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Refused</title><h1>Refused: the form's CSRF token is missing or "
            "wrong</h1><p>Reload the page and try again.</p>",
            status_code=403,
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if api(request):
            problem = Problem(exc.status_code, f"OIR-{exc.status_code}-HTTP", str(exc.detail))
            return await on_problem(request, problem)
        return HTMLResponse(
            f"<!doctype html><title>{exc.status_code}</title><h1>{exc.status_code}</h1>", status_code=exc.status_code
        )

    async def on_invalid(request: Request, exc: Exception) -> Response:
        if api(request):
            return await on_problem(request, Problem(400, "OIR-400-VALIDATION", "Bad request", detail=str(exc)))
        return HTMLResponse("<!doctype html><title>Not found</title><h1>Not found</h1>", status_code=404)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(_LoginRequired, on_login_required)
    app.add_exception_handler(_CsrfRefused, on_csrf)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)


def _address(request: Request) -> str:
    """The client's address (behind a reverse proxy on this machine, uvicorn takes it from X-Forwarded-For)."""
    return request.client.host if request.client else "-"


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


def _deviations(form: FormData) -> list[tuple[str, str, date]]:
    """Accepted deviations from the review form: one or several requirement ids, one reason, one expiry."""
    ids = [rid for rid in str(form.get("deviation_requirements", "")).replace(",", " ").split() if rid]
    if not ids:
        return []
    text = str(form.get("deviation_expires", "")).strip()
    try:
        until = date.fromisoformat(text)
    except ValueError as exc:
        raise ServiceError(f"deviation expiry {text!r} is not a date (YYYY-MM-DD)") from exc
    reason = str(form.get("deviation_reason", ""))
    return [(rid, reason, until) for rid in dict.fromkeys(ids)]


def _run_context(service: Service, run: Run) -> dict[str, Any]:
    results = service.results(run) if run.status in (FINISHED, "failed") else None
    log = service.log_file(run)
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    folder = service.report_folder(run)
    files = (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())[:200]
        if folder.is_dir()
        else []
    )
    document = service.run_certificate(run) if run.review == PENDING else None
    requirements = (document or {}).get("certificate", {}).get("requirements", {})
    live = run.status in (QUEUED, RUNNING)
    return {
        "run": run,
        "live": live,
        "steps": _steps(text) if live else [],
        "checks": checks_of(results),
        "failures": (results or {}).get("failures") or [],
        "requirements": (results or {}).get("requirements") or {},
        "reviewable": requirements,
        "log": text[-20000:],
        "files": files,
        "has_certificate": service.certificate_exists(run.id) if run.review == APPROVED else False,
    }


def _steps(log: str) -> list[tuple[str, str]]:
    """The checks a running run has reached, from its log: each one before the last is done."""
    names = [match[3] for match in (PROGRESS.match(line.strip()) for line in log.splitlines()) if match]
    return [(name, "done" if i < len(names) - 1 else "running") for i, name in enumerate(names)]


def _system_json(system: Any, counterparts: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": system.id,
        "name": system.name,
        "organisation": system.org.name,
        "profile": system.profile,
        "debtorUrl": system.debtor_url or "simulated",
        "testControl": system.test_control,
        **(counterparts or {}),
    }


def _run_json(service: Service, run: Run, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run.id,
        "system": run.system_id,
        "profile": run.system.profile,
        "status": run.status,
        "progress": run.progress,
        "verdict": run.verdict,
        "exitCode": run.exit_code,
        "review": run.review,
        "created": run.created.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "page": f"/runs/{run.id}",
        "certificate": f"/runs/{run.id}/certificate.json" if run.review == APPROVED else None,
    }
    if full:
        results = service.results(run) if run.status == FINISHED else None
        body["checks"] = checks_of(results)
        body["requirements"] = {
            k: v
            for k, v in ((results or {}).get("requirements") or {}).items()
            if k in ("passed", "failed", "notVerified", "notApplicable")
        }
    return body
