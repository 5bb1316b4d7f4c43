"""`oir service start-run`: CI starts a certification run on KOMBIT's service through its HTTP API and, with
`--wait`, follows it to the end — exit 0 certified (the run then waits for KOMBIT's review), 1 not
certified, 2 a usage error, a refused token, an unknown system or a run the service could not complete.
The token comes from `OIR_SERVICE_TOKEN` or `--token-file`, never from the command line."""

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


def _call(method: str, url: str, token: str) -> dict[str, Any]:
    try:
        answer = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach the service at {url}: {exc}") from exc
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail") or answer.json().get("title")
        except ValueError:
            detail = answer.text[:200]
        raise ClientError(f"the service answered {answer.status_code} to {method} {url}: {detail}")
    body = answer.json()
    if not isinstance(body, dict):
        raise ClientError(f"the service answered {method} {url} with no run")
    return body


def run_start_run(console: Console, url: str, system: int, token: str | None, wait: bool, timeout: float) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        err.print(f"error: --url {url!r} is not an http(s) URL", markup=False)
        return 2
    if not token:
        err.print("error: no token: set OIR_SERVICE_TOKEN or give --token-file", markup=False)
        return 2
    base = url.rstrip("/")
    try:
        run = start_run(base, system, token)
        console.print(f"run {run['id']} of system {system} {run['status']}: {base}{run['page']}", soft_wrap=True)
        if not wait:
            return 0
        deadline = time.monotonic() + timeout  # real time: a real run on a real service
        while run["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                err.print(f"error: run {run['id']} still {run['status']} after {timeout:.0f} s", markup=False)
                return 2
            time.sleep(2)
            run = run_status(base, int(run["id"]), token)
    except ClientError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    console.print(f"run {run['id']}: {run['status']}, verdict {run['verdict'] or '-'}, review {run['review'] or '-'}")
    if run["status"] != "finished":
        return 2
    return 0 if run["verdict"] in PASSING else 1
