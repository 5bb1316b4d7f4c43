"""Preflight: before any check of `oir certify --debtor-url`, is the run configured to mean anything?

A wrong token used to give NOT_CERTIFIED with 21 failed checks, and a callback address the vendor
could not reach showed up twenty seconds later as a scenario's "kontoLukket: expected True". Preflight
asks three things first, each a `PreflightError` (exit 2) with one line saying what to fix:
1. the debtor URL answers over HTTP at all (`target.check_reachable`);
2. the token is accepted on one read — `HentDebitorkonto` of an account that does not exist, for one of
   the profile's municipalities: 404 (or any answer but 401/403) means the token was accepted;
3. the callback address the vendor was told answers: the relay must be listening there (a message
   without a token gets its 401). Whether the *vendor's* system can reach that address cannot be
   checked before a run: `oir-debitor-v3` has no operation that makes a debtor system send a test
   message. `callback_note` says so; a callback that never arrives is then reported as "no callback
   reached <url>", with the relay's journal in the evidence.
"""

from __future__ import annotations

import uuid

import httpx

from contracts import wire_client

from ..callback_relay import PREFLIGHT_HEADER
from .errors import PreflightError
from .target import DEV_TOKEN, check_reachable

TOKEN_OPTIONS = "OIR_DEBTOR_TOKEN, --debtor-token or --debtor-token-file"
__all__ = ["PreflightError", "callback_note", "check_callback", "check_debtor"]


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code, detail = body.get("code"), body.get("detail") or body.get("title")
    return f" {code}" if code and not detail else f" {code}: {detail}" if code else f": {detail}" if detail else ""


def check_debtor(url: str, token: str, cvr: str, *, timeout: float = 10.0) -> str:
    """The debtor URL answers and accepts `token` on one read for the municipality `cvr`; returns the
    URL without a trailing slash, or raises PreflightError (TargetUnreachableError when nothing answers)."""
    base = check_reachable(url, timeout)
    account = f"OIR-PREFLIGHT-{uuid.uuid4().hex[:12]}"
    headers = {
        **wire_client.credentials(token),
        **wire_client.header_block(at=wire_client.FIXED_SENT_AT, cvr=cvr),
    }
    try:
        answer = httpx.get(f"{base}/debitorkonti/{account}", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PreflightError(
            f"the debtor system at {base} did not answer a read (GET /debitorkonti/…): {type(exc).__name__}: {exc}"
        ) from exc
    if answer.status_code in (401, 403):
        given = (
            "no token was given, so the public development token was tried"
            if token == DEV_TOKEN
            else "the token given was refused"
        )
        raise PreflightError(
            f"the debtor system at {base} refused the token on a read (HentDebitorkonto answered "
            f"{answer.status_code}{_problem(answer)}): {given}; set the token it accepts with {TOKEN_OPTIONS}"
        )
    return base


def check_callback(callback_url: str, *, timeout: float = 10.0) -> None:
    """The callback relay answers at the address the vendor was told (a message without a token: 401)."""
    try:
        answer = httpx.post(
            f"{callback_url}/daekningafskrivning", json={}, headers={PREFLIGHT_HEADER: "1"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise PreflightError(
            f"the callback address {callback_url} does not answer from here ({type(exc).__name__}): the harness "
            "cannot receive callbacks there; check --callback-port and the address the debtor system is given"
        ) from exc
    if answer.status_code != 401:
        raise PreflightError(
            f"the callback address {callback_url} is answered by something else than the harness's callback "
            f"receiver ({answer.status_code} to a message without a token, expected 401); check --callback-port"
        )


def callback_note(callback_url: str) -> str:
    """What preflight cannot check about callbacks, in one line."""
    return (
        f"preflight: the callback receiver listens at {callback_url}; whether the debtor system can reach it "
        "cannot be checked before the run (oir-debitor-v3 has no operation that makes it send a test message) — "
        "a callback that never arrives is reported as 'no callback reached …', with the receiver's journal "
        "in evidence/callbacks.json"
    )
