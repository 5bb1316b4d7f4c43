"""The rollout board for KOMBIT's acceptance testers: is each of the 98 municipalities ready to go live?

A municipality is READY when (1) the latest certificate of its vendor profile in the reports folder
verifies — signature by a trusted key, digests equal to this harness's files, not expired — and its
verdict is CERTIFIED or CERTIFIED_WITH_DEVIATIONS; (2) its route is configured: the engine's
`RoutingTable` has a debtor URL for it; and (3) its sortiment mapping is complete: every FBS claim type
maps to a product code that the vendor's profile accepts. Each unmet condition is a reason on the board.
Accepted deviations, and requirements the certification could not verify against the vendor's real
system (`notVerified`), are notes beside READY: the acceptance testers check those themselves. So are
the requirements that do not apply to the vendor's profile (`notApplicable`: it declares the capability
absent, e.g. B_03 for EG) — never counted as passed. A certificate NOT_CERTIFIED names the requirements
it failed.

Routes: without `--routes` the board assumes the simulated world of `oir sim serve`, where every vendor
has a debtor system and the default sortiment (`integration/sortiment.yaml`) — so only certificates
decide. A routes file (YAML) describes the real world:

    vendors:                       # profile -> the vendor's debtor URL (null or absent: not configured)
      kmd-opus: https://opus.example/oir
    municipalities:                # per-municipality overrides, by code: any Route field
      "101": {debtor_url: https://kk-opus.example/oir}
      "147": {products: {GEBYR: BIB-GEBYR}}

With a routes file a certificate counts only if it was issued for the system the route points at
(`target.debtorUrl`, not a simulator). Waves follow the slides: Copenhagen (101) first, then the KMD Opus
municipalities, then Fujitsu's Prisme variants, then EG.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jinja2 import Environment, PackageLoader
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from contracts.municipalities import Municipality, load_municipalities
from contracts.profile import PROFILE_NAMES, load_profile
from contracts.yaml_data import safe_load
from integration.routing import Route, RoutingTable, default_sortiment

from .certification.certificate import parse_rfc3339, read_certificate, verify
from .certification.errors import CertificateFileError, CertificationError
from .certification.keys import trusted_key
from .errors import HarnessError

WAVES: dict[int, str] = {
    1: "Wave 1 – Copenhagen (101)",
    2: "Wave 2 – KMD Opus",
    3: "Wave 3 – Fujitsu Prisme (2015 with payment, 2015, 2009)",
    4: "Wave 4 – EG",
}
SIMULATED = "simulated"
_ROUTE_FIELDS = {f.name for f in fields(Route)} - {"municipality"}


class RolloutError(HarnessError, ValueError):
    """The routes file or the reports folder cannot be used (a usage error)."""


def wave_of(municipality: Municipality) -> int:
    if municipality.code == "101":
        return 1
    if municipality.vendor == "kmd-opus":
        return 2
    return 4 if municipality.vendor == "eg" else 3


@dataclass
class CertificateState:
    path: Path
    verdict: str
    issued: str
    expires: str
    debtor_url: str
    simulated: bool
    problems: list[str]
    not_verified: list[str] = field(default_factory=list)  # requirements the run could not check
    not_applicable: list[str] = field(default_factory=list)  # the profile declares the capability absent
    failed: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass
class BoardRow:
    municipality: Municipality
    wave: int
    certificate: CertificateState | None
    route: str
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons


@dataclass
class Board:
    rows: list[BoardRow]
    routes_source: str
    reports: Path
    made: str

    def wave(self, number: int) -> list[BoardRow]:
        return [r for r in self.rows if r.wave == number]

    def summary(self) -> dict[int, tuple[int, int]]:
        """Ready and total municipalities per wave."""
        return {n: (sum(r.ready for r in self.wave(n)), len(self.wave(n))) for n in WAVES}


def latest_certificates(reports: Path, trusted: Ed25519PublicKey, now: datetime) -> dict[str, CertificateState]:
    """The newest certificate per profile under `reports` (by issue date), each verified."""
    if reports.exists() and not reports.is_dir():
        raise RolloutError(f"--reports {reports} is not a folder")
    newest: dict[str, tuple[datetime, Path, dict[str, Any]]] = {}
    for path in sorted(reports.rglob("certificate.json")) if reports.exists() else []:
        try:
            document = read_certificate(path)
            certificate = document["certificate"]
            issued = parse_rfc3339(str(certificate["issued"]))
            profile = str(certificate["profile"])
        except (CertificateFileError, KeyError, ValueError):
            continue  # not a certificate this board can date; `oir verify-certificate` says why
        if profile not in newest or issued > newest[profile][0]:
            newest[profile] = (issued, path, document)
    states = {}
    for profile, (_, path, document) in newest.items():
        certificate = document["certificate"]
        target = certificate.get("target") if isinstance(certificate.get("target"), dict) else {}
        states[profile] = CertificateState(
            path=path,
            verdict=str(certificate.get("verdict")),
            issued=str(certificate.get("issued")),
            expires=str(certificate.get("expires")),
            debtor_url=str(target.get("debtorUrl", "")),
            simulated=bool(target.get("simulated", True)),
            problems=verify(document, trusted, now).problems,
            not_verified=_ids(certificate, "notVerified"),
            not_applicable=_ids(certificate, "notApplicable"),
            failed=_ids(certificate, "failed"),
        )
    return states


def _ids(certificate: dict[str, Any], outcome: str) -> list[str]:
    requirements = certificate.get("requirements")
    listed = requirements.get(outcome) if isinstance(requirements, dict) else None
    return [str(rid) for rid in listed] if isinstance(listed, list) else []


def _listed(what: str, ids: list[str], shown: int = 5) -> str:
    rest = len(ids) - shown
    return f"{what}: {', '.join(ids[:shown])}" + (f" and {rest} more (see the certificate)" if rest > 0 else "")


def load_routes(path: Path | None) -> tuple[RoutingTable, str]:
    """The routing table from a routes file, or the simulated world (every vendor configured)."""
    if path is None:
        return RoutingTable.from_vendor_urls({p: SIMULATED for p in PROFILE_NAMES}), "simulated world (no --routes)"
    try:
        raw = safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise RolloutError(f"cannot read routes file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise RolloutError(f"routes file {path} is not YAML: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) - {"vendors", "municipalities"}:
        raise RolloutError(f"routes file {path}: expected the keys 'vendors' and 'municipalities'")
    vendors = raw.get("vendors") or {}
    overrides = raw.get("municipalities") or {}
    if not isinstance(vendors, dict) or not isinstance(overrides, dict):
        raise RolloutError(f"routes file {path}: 'vendors' and 'municipalities' must be mappings")
    unknown = sorted(set(vendors) - set(PROFILE_NAMES))
    if unknown:
        raise RolloutError(f"routes file {path}: unknown vendor profile {', '.join(unknown)}")
    codes = {m.code for m in load_municipalities()}
    for code, settings in overrides.items():
        if str(code) not in codes:
            raise RolloutError(f"routes file {path}: no municipality with code {code}")
        if not isinstance(settings, dict) or set(settings) - _ROUTE_FIELDS:
            raise RolloutError(
                f"routes file {path}: municipality {code}: allowed keys are {', '.join(sorted(_ROUTE_FIELDS))}"
            )
    try:
        table = RoutingTable.from_vendor_urls(
            {k: str(v) for k, v in vendors.items() if v}, overrides={str(k): v for k, v in overrides.items()}
        )
    except (TypeError, ValidationError) as exc:
        raise RolloutError(f"routes file {path}: {exc}") from exc
    return table, str(path)


def _sortiment_reasons(route: Route) -> list[str]:
    accepted = set(load_profile(route.municipality.vendor).sortiment)
    reasons = []
    for claim_type in default_sortiment():
        product = route.products.get(claim_type)
        if product is None:
            reasons.append(f"sortiment: FBS claim type {claim_type} is not mapped")
        elif product not in accepted:
            reasons.append(f"sortiment: {claim_type} maps to {product}, not in {route.municipality.vendor}'s sortiment")
    return reasons


def _certificate_reasons(state: CertificateState | None, route: Route, profile: str, real: bool) -> list[str]:
    if state is None:
        return [f"no certificate for {profile}"]
    # the board names what differs; `oir verify-certificate` shows both digests
    reasons = [f"certificate invalid: {p.split(': certificate sha256:')[0]}" for p in state.problems]
    if state.verdict == "NOT_CERTIFIED":
        failed = f"; {_listed('failed', state.failed)}" if state.failed else ""
        reasons.append(f"certificate verdict NOT_CERTIFIED ({state.path}{failed})")
    elif state.verdict not in ("CERTIFIED", "CERTIFIED_WITH_DEVIATIONS"):
        reasons.append(f"certificate verdict {state.verdict!r} unknown")
    if real and route.debtor_url:
        if state.simulated:
            reasons.append("the certificate is of the simulator, not of the vendor's system")
        elif state.debtor_url.rstrip("/") != route.debtor_url.rstrip("/"):
            reasons.append(f"the certificate is for {state.debtor_url}, the route points at {route.debtor_url}")
    return reasons


def make_board(reports: Path, routes_file: Path | None, trusted: Ed25519PublicKey, now: datetime) -> Board:
    table, source = load_routes(routes_file)
    certificates = latest_certificates(reports, trusted, now)
    rows = []
    for municipality in load_municipalities():
        route = table.routes[municipality.cvr]
        state = certificates.get(municipality.vendor)
        reasons = _certificate_reasons(state, route, municipality.vendor, real=routes_file is not None)
        if not route.configured:
            reasons.append(f"route not configured (no debtor URL for {municipality.vendor})")
        reasons += _sortiment_reasons(route)
        notes = ["certified with accepted deviations"] if state and state.verdict == "CERTIFIED_WITH_DEVIATIONS" else []
        if state and state.not_verified:  # ready, but the acceptance testers check these themselves
            notes.append(_listed("not verified by the certification", state.not_verified))
        if state and state.not_applicable:  # never passed: the profile declares the capability absent
            notes.append(_listed(f"not applicable to {municipality.vendor}", state.not_applicable))
        rows.append(
            BoardRow(
                municipality=municipality,
                wave=wave_of(municipality),
                certificate=state,
                route=route.debtor_url or "-",
                reasons=reasons,
                notes=notes,
            )
        )
    rows.sort(key=lambda r: (r.wave, PROFILE_NAMES.index(r.municipality.vendor), r.municipality.code))
    return Board(rows=rows, routes_source=source, reports=reports, made=now.isoformat(timespec="seconds"))


_env = Environment(loader=PackageLoader("harness", "templates"), autoescape=True)


def render_html(board: Board) -> str:
    return _env.get_template("rollout.html.j2").render(board=board, waves=WAVES, summary=board.summary())


def run_rollout(
    console: Console, reports: Path, routes: Path | None, html: Path | None, public_key: str | None, now: datetime
) -> int:
    """`oir rollout`: print the board (and write the HTML page); 0 when made, 2 on a usage error."""
    try:
        board = make_board(reports, routes, trusted_key(public_key), now)
    except (RolloutError, CertificationError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    for number, title in WAVES.items():
        ready, total = board.summary()[number]
        table = Table(title=f"{title}: {ready} of {total} ready", title_justify="left")
        for column in ("code", "municipality", "profile", "certificate", "route", "readiness", "reasons"):
            table.add_column(column, overflow="fold")
        for row in board.wave(number):
            state = row.certificate
            certificate = (
                f"{state.verdict}, {'valid' if state.valid else 'INVALID'} until {state.expires[:10]}"
                if state
                else "none"
            )
            table.add_row(
                row.municipality.code,
                row.municipality.name,
                row.municipality.vendor,
                certificate,
                row.route,
                "[green]READY[/green]" if row.ready else "[red]NOT READY[/red]",
                "; ".join(row.reasons + row.notes) or "-",
            )
        console.print(table)
    ready_all = sum(r.ready for r in board.rows)
    console.print(f"{ready_all} of {len(board.rows)} municipalities ready (routes: {board.routes_source})")
    if html:
        try:
            html.write_text(render_html(board), encoding="utf-8")
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot write {html}: {exc.strerror or exc}", soft_wrap=True)
            return 2
        console.print(f"board written to {html}")
    return 0
