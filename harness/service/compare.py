"""Vendors side by side (the cross-vendor equivalence matrix): for the latest approved run of each test
system, the outcome of every requirement (from KOMBIT's signed certificate) and of every check (from the
run's results.json), one column per system, with the rows where the systems differ highlighted.

Only KOMBIT sees it: it puts one vendor's results beside another's. Outcomes are the certificate's own
words — passed, failed, accepted deviation, not applicable (the profile lacks the capability), not
verified — so a "differs" row is a real difference between systems, or between profiles' capabilities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from contracts.requirements import load_requirements

from .core import NotFoundError, Service
from .models import Certificate, Run, User

_OUTCOMES = (
    ("passed", "passed"),
    ("failed", "failed"),
    ("notApplicable", "not applicable"),
    ("notVerified", "not verified"),
)


@dataclass
class Column:
    run: int
    title: str  # organisation · system · profile
    requirements: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)


@dataclass
class Matrix:
    columns: list[Column]
    requirements: list[tuple[str, list[str], bool]]  # id, outcome per column, differs
    checks: list[tuple[str, list[str], bool]]


def checks_of(results: dict[str, Any] | None) -> list[dict[str, str]]:
    """Each check of a finished run with its status, read from results.json."""
    if not results:
        return []
    checks = []
    for check in (results.get("fuzz") or {}).get("checks") or []:
        checks.append({"check": str(check.get("check")), "status": str(check.get("status"))})
    for probe in results.get("probes") or []:
        checks.append({"check": str(probe.get("name")), "status": str(probe.get("status"))})
    for interaction in (results.get("pact") or {}).get("interactions") or []:
        checks.append({"check": str(interaction.get("check")), "status": str(interaction.get("status"))})
    for scenario in (results.get("scenarios") or {}).get("runs") or []:
        checks.append({"check": str(scenario.get("check")), "status": str(scenario.get("status"))})
    return checks


def _outcomes(certificate: dict[str, Any]) -> dict[str, str]:
    requirements = certificate.get("requirements") or {}
    found = {str(rid): label for key, label in _OUTCOMES for rid in requirements.get(key) or []}
    for deviation in requirements.get("acceptedDeviations") or []:
        found[str(deviation.get("requirement"))] = "accepted deviation"
    return found


def matrix(service: Service, user: User) -> Matrix:
    if not user.kombit:
        raise NotFoundError("no such page")
    latest: dict[int, tuple[Run, dict[str, Any]]] = {}
    with service.store() as db:
        rows = db.execute(select(Run, Certificate).join(Certificate, Certificate.run_id == Run.id).order_by(Run.id))
        for run, certificate in rows:
            latest[run.system_id] = (run, json.loads(certificate.document)["certificate"])  # the newest wins
    columns = []
    for run, certificate in sorted(latest.values(), key=lambda pair: (pair[0].system.profile, pair[0].system.org.name)):
        column = Column(run.id, f"{run.system.org.name} · {run.system.name} · {run.system.profile}")
        column.requirements = _outcomes(certificate)
        try:
            results = json.loads((service.approved_dir / f"run-{run.id}" / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            results = None
        column.checks = {c["check"]: c["status"] for c in checks_of(results)}
        columns.append(column)
    catalogue = list(load_requirements())
    return Matrix(
        columns,
        _rows(catalogue, [c.requirements for c in columns]),
        _rows(sorted({name for c in columns for name in c.checks}), [c.checks for c in columns]),
    )


def _rows(names: list[str], per_column: list[dict[str, str]]) -> list[tuple[str, list[str], bool]]:
    rows = []
    for name in names:
        cells = [outcomes.get(name, "-") for outcomes in per_column]
        if all(cell == "-" for cell in cells):
            continue
        rows.append((name, cells, len(set(cells)) > 1))
    return rows


def trend(service: Service, user: User, system_id: int, last: int = 10) -> Matrix:
    """One system's finished runs over time (oldest first, the last `last`): each requirement's outcome
    per run, from the run's results.json; rows that changed from run to run highlighted."""
    system = service.system(user, system_id)  # 404 for another organisation's
    runs = [r for r in service.runs(user) if r.system_id == system.id and r.status == "finished"][:last][::-1]
    columns = []
    for run in runs:
        column = Column(run.id, f"#{run.id} {run.created:%Y-%m-%d %H:%M}")
        results = service.results(run) or {}
        column.requirements = _outcomes({"requirements": results.get("requirements") or {}})
        column.checks = {c["check"]: c["status"] for c in checks_of(results)}
        columns.append(column)
    names = list(load_requirements())
    return Matrix(
        columns,
        _rows(names, [c.requirements for c in columns]),
        _rows(sorted({n for c in columns for n in c.checks}), [c.checks for c in columns]),
    )
