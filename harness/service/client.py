"""CI's side of KOMBIT's service: `oir service start-run --system ID` and `oir certify --service URL --system
NAME_OR_ID` start a certification run of a registered test system through the service's HTTP API and follow
it to its end on the console — exit 0 certified (the run then waits for KOMBIT's review), 1 not certified,
2 a usage error, an unreachable service, a refused token, an unknown system or a run the service could not
complete, each one line. The token comes from `OIR_SERVICE_TOKEN`, `--token` or `--token-file`."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from ..command_options import err

PASSING = ("CERTIFIED", "CERTIFIED_WITH_DEVIATIONS")


class ClientError(Exception):
    pass


def start_run(url: str, system: int, token: str) -> dict[str, Any]:
    """POST /api/systems/{system}/runs: the run as the service describes it."""
    return _call("POST", f"{url}/api/systems/{system}/runs", token)


def run_status(url: str, run: int, token: str) -> dict[str, Any]:
    return _call("GET", f"{url}/api/runs/{run}", token)


def systems(url: str, token: str) -> list[dict[str, Any]]:
    """GET /api/systems: the test systems the token's organisation may see."""
    found = _request("GET", f"{url}/api/systems", token)
    if not isinstance(found, list):
        raise ClientError(f"the service answered GET {url}/api/systems with no list of test systems")
    return found


def choose_system(found: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """The system named `wanted` — its id, or its name (case-insensitive) — among `found`; else a clear error."""
    text = wanted.strip()
    chosen = [s for s in found if str(s.get("id")) == text] or [
        s for s in found if str(s.get("name", "")).casefold() == text.casefold()
    ]
    if len(chosen) == 1:
        return chosen[0]
    known = ", ".join(f"{s.get('name')} ({s.get('id')})" for s in found) or "none"
    if chosen:
        return _raise(f"--system {wanted!r}: {len(chosen)} test systems have that name; give its id: {known}")
    return _raise(f"--system {wanted!r}: no such test system among yours: {known}")


def _raise(message: str) -> dict[str, Any]:
    raise ClientError(message)


def _call(method: str, url: str, token: str) -> dict[str, Any]:
    body = _request(method, url, token)
    if not isinstance(body, dict):
        raise ClientError(f"the service answered {method} {url} with no run")
    return body


def _request(method: str, url: str, token: str) -> Any:
    try:
        answer = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach the service at {url}: {exc or type(exc).__name__}") from exc
    if answer.status_code == 401:
        raise ClientError(
            f"the service answered 401 to {method} {url}: it does not know this token "
            "(a token from `oir service admin create-token`, in OIR_SERVICE_TOKEN, --token or --token-file)"
        )
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail") or answer.json().get("title")
        except (ValueError, AttributeError):
            detail = answer.text[:200]
        raise ClientError(f"the service answered {answer.status_code} to {method} {url}: {detail}")
    try:
        return answer.json()
    except ValueError as exc:
        raise ClientError(f"the service answered {method} {url} with no JSON: is {url} the service?") from exc


def _base(url: str, option: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        err.print(f"error: {option} {url!r} is not an http(s) URL", markup=False)
        return None
    return url.rstrip("/")


def follow(console: Console, base: str, run: dict[str, Any], token: str, timeout: float) -> dict[str, Any]:
    """Poll the run until it ends, printing each change of its state or check; the ended run."""
    deadline = time.monotonic() + timeout  # real time: a real run on a real service
    pause = 0.2  # quick at first (a short queue), then every 2 s: a run takes minutes
    shown = ""
    while run["status"] in ("queued", "running"):
        now = f"run {run['id']} {run['status']}" + (f": {run['progress']}" if run.get("progress") else "")
        if now != shown:
            console.print(now, soft_wrap=True, markup=False, highlight=False)
            shown = now
        if time.monotonic() > deadline:
            raise ClientError(f"run {run['id']} still {run['status']} after {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
        run = run_status(base, int(run["id"]), token)
    return run


def _outcome(console: Console, base: str, run: dict[str, Any]) -> int:
    console.print(
        f"run {run['id']}: {run['status']}, verdict {run['verdict'] or '-'}, review {run['review'] or '-'}",
        markup=False,
        highlight=False,
    )
    failed = [c["check"] for c in run.get("checks") or [] if c.get("status") in ("failed", "error")]
    if failed:
        console.print(f"failed: {', '.join(failed)}", soft_wrap=True, markup=False, highlight=False)
    if run["status"] != "finished":
        console.print(f"the service could not complete the run: its log is on {base}{run['page']}", markup=False)
        return 2
    console.print(f"report: {base}{run['page']}", markup=False, highlight=False)
    return 0 if run["verdict"] in PASSING else 1


def run_start_run(console: Console, url: str, system: int, token: str | None, wait: bool, timeout: float) -> int:
    base = _base(url, "--url")
    if base is None:
        return 2
    if not token:
        err.print("error: no token: set OIR_SERVICE_TOKEN or give --token-file", markup=False)
        return 2
    try:
        run = start_run(base, system, token)
        console.print(f"run {run['id']} of system {system} {run['status']}: {base}{run['page']}", soft_wrap=True)
        if not wait:
            return 0
        run = follow(console, base, run, token, timeout)
    except ClientError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    return _outcome(console, base, run)


def run_certify_on_service(
    console: Console, url: str, token: str | None, system: str | None, profile: str | None, timeout: float
) -> int:
    """`oir certify --service URL --system NAME_OR_ID`: a run of a registered system on the service, not here."""
    base = _base(url, "--service")
    if base is None:
        return 2
    if not system:
        err.print("error: --service needs --system NAME_OR_ID: which of your registered test systems", markup=False)
        return 2
    if not token:
        err.print(
            "error: --service needs a token: set OIR_SERVICE_TOKEN, or give --token or --token-file", markup=False
        )
        return 2
    try:
        chosen = choose_system(systems(base, token), system)
        if profile and profile != chosen.get("profile"):
            raise ClientError(f"--profile {profile}: test system {chosen['name']} implements {chosen.get('profile')}")
        run = start_run(base, int(chosen["id"]), token)
        console.print(
            f"run {run['id']} of {chosen['name']} ({chosen.get('profile')}) on {base}: {base}{run['page']}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        run = follow(console, base, run, token, timeout)
    except ClientError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    return _outcome(console, base, run)
