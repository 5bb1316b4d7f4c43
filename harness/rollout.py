"""The rollout board for KOMBIT's acceptance testers: is each of the 98 municipalities ready to go live?

A municipality is READY when (1) the latest certificate of its vendor profile in the reports folder
verifies — signature by a trusted key, digests equal to this harness's files, not expired —, is of the
vendor's own system (a certificate of the harness's simulator proves the harness, not the vendor), its
verdict is CERTIFIED or CERTIFIED_WITH_DEVIATIONS, and it left nothing not verified — unless the profile
accepts that gap with an unexpired deviation (owner, reason, expiry: the same `deviations:` that turn a
failure into an accepted deviation); (2) its route is configured: the engine's `RoutingTable` has a debtor
URL for it; and (3) its sortiment mapping is complete: every FBS claim type maps to a product code that
the vendor's profile accepts. Each unmet condition is a reason on the board. Accepted deviations, gaps
accepted by a deviation and the requirements that do not apply to the vendor's profile (`notApplicable`:
it declares the capability absent, e.g. B_03 for EG) are notes beside READY — never counted as passed.
A NOT_CERTIFIED certificate names the checks that failed (from `results.json` beside it) and the
requirements they blame (from the certificate).

The board is grouped by wave and, inside a wave, by vendor: what blocks every municipality of a vendor
(its certificate, a route file's vendor URL) is said once for the vendor, with the paths of its report
and certificate; a municipality's row shows only what is its own (its route override, its sortiment).
`oir rollout --wave N` is a gate in the manner of Pact's can-i-deploy: exit 1 unless every municipality
of the chosen wave(s) is READY; `--output json` gives the same board to machines.

Routes: without `--routes` the board assumes the simulated world of `oir sim serve`, where every vendor
has a debtor system and the default sortiment (`integration/sortiment.yaml`) — so only certificates
decide. A routes file (YAML) describes the real world:

    vendors:                       # profile -> the vendor's debtor URL (null or absent: not configured)
      kmd-opus: https://opus.example/oir
    municipalities:                # per-municipality overrides, by code: any Route field
      "101": {debtor_url: https://kk-opus.example/oir}
      "147": {products: {GEBYR: BIB-GEBYR}}

With a routes file a certificate counts only if it was issued for the system the route points at
(`target.debtorUrl`). Waves follow the slides: Copenhagen (101) first, then the KMD Opus
municipalities, then Fujitsu's Prisme variants, then EG.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
from .command_options import err
from .errors import HarnessError

WAVES: dict[int, str] = {
    1: "Wave 1 – Copenhagen (101)",
    2: "Wave 2 – KMD Opus",
    3: "Wave 3 – Fujitsu Prisme (2015 with payment, 2015, 2009)",
    4: "Wave 4 – EG",
}
SIMULATED = "simulated"
PASSING_VERDICTS = ("CERTIFIED", "CERTIFIED_WITH_DEVIATIONS")
_ROUTE_FIELDS = {f.name for f in fields(Route)} - {"municipality"}
_FAILED_STATUSES = ("failed", "error")  # a check's status in results.json that blocks


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
    failed: list[str] = field(default_factory=list)  # requirements failed (signed)
    failed_checks: list[str] = field(default_factory=list)  # checks failed (results.json beside it, unsigned)
    report: Path | None = None  # index.html beside it

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        """What the certificate is, in a few words: never "NOT_CERTIFIED valid until …"."""
        what = f"{self.verdict} (simulator)" if self.simulated else self.verdict
        if not self.valid:
            return f"{what}, INVALID"
        return f"{what}, expires {self.expires[:10]}" if self.verdict in PASSING_VERDICTS else what

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "report": str(self.report) if self.report else None,
            "verdict": self.verdict,
            "valid": self.valid,
            "problems": self.problems,
            "issued": self.issued,
            "expires": self.expires,
            "debtorUrl": self.debtor_url,
            "simulated": self.simulated,
            "failedChecks": self.failed_checks,
            "failed": self.failed,
            "notVerified": self.not_verified,
            "notApplicable": self.not_applicable,
        }


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
class VendorGroup:
    """The municipalities of one vendor in one wave: what blocks them all is said once."""

    profile: str
    rows: list[BoardRow]

    @property
    def certificate(self) -> CertificateState | None:
        return self.rows[0].certificate

    @property
    def blocking(self) -> list[str]:
        """The reasons every municipality of the group shares (its certificate's, a vendor URL's)."""
        first = self.rows[0].reasons
        return [r for r in first if all(r in row.reasons for row in self.rows[1:])]

    @property
    def notes(self) -> list[str]:
        return self.rows[0].notes

    @property
    def ready(self) -> int:
        return sum(row.ready for row in self.rows)

    def own(self, row: BoardRow) -> list[str]:
        """The reasons of this municipality alone."""
        shared = self.blocking
        return [r for r in row.reasons if r not in shared]


@dataclass
class Board:
    rows: list[BoardRow]
    routes_source: str
    reports: Path
    made: str
    warnings: list[str] = field(default_factory=list)

    def wave(self, number: int) -> list[BoardRow]:
        return [r for r in self.rows if r.wave == number]

    def groups(self, number: int) -> list[VendorGroup]:
        rows = self.wave(number)
        profiles = [p for p in PROFILE_NAMES if any(r.municipality.vendor == p for r in rows)]
        return [VendorGroup(p, [r for r in rows if r.municipality.vendor == p]) for p in profiles]

    def summary(self) -> dict[int, tuple[int, int]]:
        """Ready and total municipalities per wave."""
        return {n: (sum(r.ready for r in self.wave(n)), len(self.wave(n))) for n in WAVES}


def _failed_checks(results: Path) -> list[str]:
    """The checks results.json (beside a certificate) says failed; [] if it is missing or unreadable.
    Read loosely — any object with a failed status and a name — so the board names what to look at
    whatever else results.json holds."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found: list[str] = []

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            if node.get("status") in _FAILED_STATUSES:
                name = node.get("check") or node.get("name") or {"fuzz": "schemathesis"}.get(key, key)
                if str(name) not in found:
                    found.append(str(name))
                return
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    walk(data, "")
    return found


def latest_certificates(
    reports: Path, trusted: Ed25519PublicKey, now: datetime, warnings: list[str] | None = None
) -> dict[str, CertificateState]:
    """The newest certificate per profile under `reports` (by issue date; one of a vendor's system before
    any of the simulator), each verified. What cannot be read is added to `warnings`."""
    if not reports.exists():
        raise RolloutError(f"--reports {reports} does not exist (run `oir certify` first, or give the folder)")
    if not reports.is_dir():
        raise RolloutError(f"--reports {reports} is not a folder")
    warnings = warnings if warnings is not None else []
    newest: dict[str, tuple[tuple[bool, datetime], Path, dict[str, Any]]] = {}
    paths = sorted(reports.rglob("certificate.json"))
    if not paths:
        warnings.append(f"no certificate.json under {reports}")
    for path in paths:
        try:
            document = read_certificate(path)
            certificate = document["certificate"]
            issued = parse_rfc3339(str(certificate["issued"]))
            profile = str(certificate["profile"])
        except (CertificateFileError, KeyError, ValueError) as exc:
            warnings.append(f"skipped {path}: {exc} (`oir verify-certificate {path}` says more)")
            continue
        target = certificate.get("target") if isinstance(certificate.get("target"), dict) else {}
        rank = (not bool(target.get("simulated", True)), issued)  # the vendor's system first, then newest
        if profile not in newest or rank > newest[profile][0]:
            newest[profile] = (rank, path, document)
    states = {}
    for profile, (_, path, document) in newest.items():
        certificate = document["certificate"]
        target = certificate.get("target") if isinstance(certificate.get("target"), dict) else {}
        report = path.parent / "index.html"
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
            failed_checks=_failed_checks(path.parent / "results.json"),
            report=report if report.is_file() else None,
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


def _certificate_reasons(
    state: CertificateState | None, route: Route, profile: str, real: bool, accepted: set[str]
) -> list[str]:
    if state is None:
        return [f"no certificate for {profile}"]
    # the board names what differs; `oir verify-certificate` shows both digests
    reasons = [f"certificate invalid: {p.split(': certificate sha256:')[0]}" for p in state.problems]
    if state.simulated:
        reasons.append(f"the certificate is of the harness's simulator, not of {profile}'s system")
    if state.verdict == "NOT_CERTIFIED":
        checks = _listed("failed checks", state.failed_checks) if state.failed_checks else ""
        blamed = _listed("failed requirements", state.failed) if state.failed else ""
        reasons.append("NOT_CERTIFIED" + (": " if checks or blamed else "") + "; ".join(filter(None, (checks, blamed))))
    elif state.verdict not in PASSING_VERDICTS:
        reasons.append(f"certificate verdict {state.verdict!r} unknown")
    gaps = [rid for rid in state.not_verified if rid not in accepted]
    if gaps:
        reasons.append(_listed(f"{len(gaps)} requirement(s) not verified by the certification", gaps))
    if real and route.debtor_url and not state.simulated:
        if state.debtor_url.rstrip("/") != route.debtor_url.rstrip("/"):
            reasons.append(f"the certificate is for {state.debtor_url}, the route points at {route.debtor_url}")
    return reasons


def _accepted_gaps(profile: str, now: datetime) -> dict[str, str]:
    """Requirements the profile accepts not verified, today: requirement -> who accepted it, until when."""
    return {
        d.requirement: f"{d.requirement} ({d.owner}: {d.reason}; until {d.expires.isoformat()})"
        for d in load_profile(profile).deviations
        if d.active_on(now.date())
    }


def make_board(reports: Path, routes_file: Path | None, trusted: Ed25519PublicKey, now: datetime) -> Board:
    table, source = load_routes(routes_file)
    warnings: list[str] = []
    certificates = latest_certificates(reports, trusted, now, warnings)
    accepted = {profile: _accepted_gaps(profile, now) for profile in PROFILE_NAMES}
    rows = []
    for municipality in load_municipalities():
        route = table.routes[municipality.cvr]
        vendor = municipality.vendor
        state = certificates.get(vendor)
        reasons = _certificate_reasons(
            state, route, vendor, real=routes_file is not None, accepted=set(accepted[vendor])
        )
        if not route.configured:
            reasons.append(f"route not configured (no debtor URL for {vendor})")
        reasons += _sortiment_reasons(route)
        notes = ["certified with accepted deviations"] if state and state.verdict == "CERTIFIED_WITH_DEVIATIONS" else []
        gaps = [accepted[vendor][rid] for rid in state.not_verified if rid in accepted[vendor]] if state else []
        if gaps:  # a gap the profile accepts: the acceptance testers see who accepted it and until when
            notes.append(_listed("not verified, accepted by a deviation of the profile", gaps))
        if state and state.not_applicable:  # never passed: the profile declares the capability absent
            notes.append(_listed(f"not applicable to {vendor}", state.not_applicable))
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
    return Board(
        rows=rows, routes_source=source, reports=reports, made=now.isoformat(timespec="seconds"), warnings=warnings
    )


def board_json(board: Board, waves: list[int]) -> dict[str, Any]:
    """The board for machines: per wave, per vendor, what blocks and each municipality."""
    chosen = [n for n in WAVES if n in waves] if waves else list(WAVES)
    rows = [r for r in board.rows if r.wave in chosen]
    return {
        "made": board.made,
        "reports": str(board.reports),
        "routes": board.routes_source,
        "waves": [
            {
                "wave": number,
                "title": WAVES[number],
                "ready": board.summary()[number][0],
                "total": board.summary()[number][1],
                "vendors": [
                    {
                        "profile": group.profile,
                        "ready": group.ready,
                        "total": len(group.rows),
                        "certificate": group.certificate.as_json() if group.certificate else None,
                        "blocking": group.blocking,
                        "notes": group.notes,
                        "municipalities": [
                            {
                                "code": row.municipality.code,
                                "name": row.municipality.name,
                                "route": row.route,
                                "ready": row.ready,
                                "reasons": group.own(row),
                            }
                            for row in group.rows
                        ],
                    }
                    for group in board.groups(number)
                ],
            }
            for number in chosen
        ],
        "ready": sum(r.ready for r in rows),
        "total": len(rows),
        "warnings": board.warnings,
    }


_env = Environment(loader=PackageLoader("harness", "templates"), autoescape=True)


def _link(path: Path | None, base: Path | None) -> str | None:
    """A link to a report file from the page: relative to the page's folder, else a file URL."""
    if path is None:
        return None
    if base is not None:
        try:
            return quote(Path(os.path.relpath(path.resolve(), base.resolve())).as_posix())
        except ValueError:  # another drive (Windows)
            pass
    return path.resolve().as_uri()


def render_html(board: Board, base: Path | None = None) -> str:
    """The page; `base` is the folder it is written to (links to reports are relative to it)."""
    return _env.get_template("rollout.html.j2").render(
        board=board, waves=WAVES, summary=board.summary(), link=lambda p: _link(p, base)
    )


def run_rollout(
    console: Console,
    reports: Path,
    routes: Path | None,
    html: Path | None,
    public_key: str | None,
    now: datetime,
    waves: list[int] | None = None,
    output: str = "text",
) -> int:
    """`oir rollout`: print the board (and write the HTML page). Exit 0 when made — and, with `waves`,
    only when every municipality of those waves is READY, else 1 —; 2 on a usage error."""
    chosen = sorted(set(waves or []))
    wrong = [n for n in chosen if n not in WAVES]
    try:
        if wrong:
            raise RolloutError(f"--wave {wrong[0]}: the waves are {', '.join(map(str, WAVES))}")
        if public_key is not None and not public_key.strip():
            raise RolloutError("--public-key is empty (a CI variable that is missing?): give the signer's public key")
        board = make_board(reports, routes, trusted_key(public_key), now)
    except (RolloutError, CertificationError) as exc:
        if output == "json":
            console.out(json.dumps({"error": str(exc), "exitCode": 2}), highlight=False)
        else:
            err.print(f"[red]error:[/red] {exc}")
        return 2
    for warning in board.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    shown = chosen or list(WAVES)
    gate = [r for r in board.rows if r.wave in chosen]
    code = 1 if any(not r.ready for r in gate) else 0
    if html:
        try:
            html.write_text(render_html(board, html.parent), encoding="utf-8")
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot write {html}: {exc.strerror or exc}")
            return 2
    if output == "json":
        data = board_json(board, shown)
        data["exitCode"] = code
        console.out(json.dumps(data, indent=2, ensure_ascii=False), highlight=False)
        return code
    for number in shown:
        _print_wave(console, board, number)
    ready_all = sum(r.ready for r in board.rows)
    console.print(f"{ready_all} of {len(board.rows)} municipalities ready (routes: {board.routes_source})")
    if html:
        console.print(f"board written to {html}")
    if chosen:
        ready, total = sum(r.ready for r in gate), len(gate)
        verdict = "[green]READY[/green]" if code == 0 else "[red]NOT READY[/red]"
        console.print(f"wave {', '.join(map(str, chosen))}: {verdict} ({ready} of {total} municipalities ready)")
    return code


def _print_wave(console: Console, board: Board, number: int) -> None:
    ready, total = board.summary()[number]
    console.rule(f"[bold]{WAVES[number]}: {ready} of {total} ready", align="left")
    for group in board.groups(number):
        state = group.certificate
        style = "green" if group.ready == len(group.rows) else "red"
        console.print(
            f"[bold]{group.profile}[/bold]: [{style}]{group.ready} of {len(group.rows)} ready[/{style}]"
            f" · certificate: {state.label if state else 'none'}",
            soft_wrap=True,
        )
        if state:
            console.print(f"  certificate: {state.path}", soft_wrap=True)
            console.print(f"  report:      {state.report or '(no index.html beside the certificate)'}", soft_wrap=True)
        for reason in group.blocking:
            console.print(f"  [red]blocks all {len(group.rows)}:[/red] {reason}", soft_wrap=True)
        for note in group.notes:
            console.print(f"  [yellow]note:[/yellow] {note}", soft_wrap=True)
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column in ("code", "municipality", "route", "readiness", "its own reasons"):
            table.add_column(column, overflow="fold")
        for row in group.rows:
            table.add_row(
                row.municipality.code,
                row.municipality.name,
                row.route,
                "[green]READY[/green]" if row.ready else "[red]NOT READY[/red]",
                "; ".join(group.own(row)) or "-",
            )
        console.print(table)
