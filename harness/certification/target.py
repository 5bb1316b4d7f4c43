"""What certification runs against: the profile's simulator, or a vendor's system at a URL.

For a vendor's system the harness runs the counterparts itself — PSRM (the simulator) and the
fagsystem's DækningAfskrivning receiver — on fixed ports if asked, and tells the vendor's engineer which
URLs to configure. A URL that does not answer at all is refused before anything starts, as is a declared test control
(`--test-control`) the system does not offer.

Two addresses, which differ as soon as the vendor's system is elsewhere: the one the harness *binds*
(`bind`, default 127.0.0.1: nothing outside this machine can reach it; 0.0.0.0 for every interface) and
the URLs it *advertises* to the vendor (`callback_url`, `psrm_url`: what the vendor's system must call,
e.g. the far end of an SSH tunnel or a reverse proxy in front of a CI runner). Without an advertised URL
the harness advertises what it binds. The harness itself always talks to its own servers locally.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from contracts import wire_client

from .errors import TargetUnreachableError, TestControlUnavailableError

DEV_TOKEN = "oir-dev-token"
CALLBACK_TOKEN = "certification-callback-token"
# the credential of another municipality the harness gives its own simulator, to prove it is refused
FOREIGN_TOKEN = "certification-foreign-municipality-token"


@dataclass(frozen=True)
class Target:
    """Where the debtor system is and how to talk to it; `debtor_url=None` is the profile's simulator."""

    debtor_url: str | None = None
    token: str = DEV_TOKEN
    callback_token: str = CALLBACK_TOKEN
    callback_port: int = 0
    psrm_port: int = 0
    bind: str = "127.0.0.1"  # where PSRM and the callback receiver listen
    callback_url: str | None = None  # the callback receiver's URL as the vendor's system reaches it
    psrm_url: str | None = None  # PSRM's URL as the vendor's system reaches it
    # a credential the vendor issued to another municipality or fagsystem: it must not act for the one
    # certified (None against a vendor: that check is not run; the simulator gets FOREIGN_TOKEN)
    foreign_token: str | None = None
    # the vendor declares that its test system offers test control (oir-testkontrol-v1)
    test_control: bool = False

    @property
    def simulated(self) -> bool:
        return self.debtor_url is None

    @property
    def reachable_from_network(self) -> bool:
        """Whether others than this machine's processes can reach the callback receiver."""
        return not is_loopback(self.bind) or self.callback_url is not None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from elsewhere


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class Counterparts:
    """The URLs a vendor configures in its debtor system for this run."""

    psrm_url: str  # as the vendor's system reaches it (advertised)
    callback_url: str  # the fagsystem's base URL (oir-fagsystem-v3): callbacks go to /daekningafskrivning
    callback_token: str
    local_psrm_url: str = ""  # as the harness's own FBS, payment solution and engines reach it

    @property
    def psrm_for_harness(self) -> str:
        return self.local_psrm_url or self.psrm_url


def check_reachable(
    url: str,
    timeout: float | httpx.Timeout = 10.0,
    *,
    option: str = "--debtor-url",
    what: str = "the debtor system",
) -> str:
    """The URL without a trailing slash, if anything answers there over HTTP; else a clear error naming
    the command-line `option` the URL came from."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetUnreachableError(f"{option} {url!r} is not an http(s) URL")
    try:
        httpx.get(url.rstrip("/") + "/openapi.json", timeout=timeout)
    except httpx.HTTPError as exc:
        raise TargetUnreachableError(
            f"{what} at {url} is unreachable ({type(exc).__name__}: {exc or 'no answer'})"
        ) from exc
    return url.rstrip("/")


def check_url(url: str, option: str) -> str:
    """An advertised URL: http(s) with a host; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetUnreachableError(f"{option} {url!r} is not an http(s) URL")
    return url.rstrip("/")


def check_test_control(url: str, token: str, timeout: float = 10.0) -> str:
    """The business date of a vendor's system that declares test control, read through it; else a clear
    error: what `GET /testkontrol/forretningsdato` answered (a system without it, or a token it refuses)."""
    where = f"{url}{wire_client.TEST_CONTROL}/forretningsdato"
    try:
        answer = httpx.get(where, headers=wire_client.credentials(token), timeout=timeout)
    except httpx.HTTPError as exc:
        raise TestControlUnavailableError(f"--test-control: {where} did not answer ({type(exc).__name__})") from exc
    try:
        business_date = answer.json()["forretningsdato"] if answer.status_code == 200 else None
    except (ValueError, KeyError, TypeError):
        business_date = None
    if not isinstance(business_date, str):
        raise TestControlUnavailableError(
            f"--test-control: {where} answered {answer.status_code}, not a business date; the system does not "
            "offer test control (oir-testkontrol-v1) to this token"
        )
    return business_date
