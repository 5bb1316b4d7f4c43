"""The rollout board, live: `harness/rollout.py`'s board built from the certificates KOMBIT signed.

The rules are rollout.py's — a municipality is READY when its vendor's latest certificate verifies (here
with the service's key, so a vendor's own or a run's own certificate never counts), is a pass, left
nothing unverified that no deviation accepts, and its route and sortiment are complete — applied to the
folder of approved certificates the service keeps (`<data dir>/approved/run-N/certificate.json`). The
service adds the cut-over calendar: each wave's planned date (KOMBIT edits it), and a wave that is not
ready within `NEAR_DAYS` of its date is flagged.

A certificate of a simulated test system proves the harness, not the vendor's system, so rollout.py
blocks it. A trial installation (`oir service serve --trial`: a demonstration, the browser test) lets it
count, with a note saying so; a real service never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..rollout import WAVES, Board, make_board
from .core import Service

NEAR_DAYS = 14
_SIMULATED = "the certificate is of the harness's simulator"


@dataclass
class WaveView:
    number: int
    title: str
    planned: date | None
    ready: int
    total: int

    def near(self, today: date) -> bool:
        """Due within NEAR_DAYS (or overdue) and not every municipality ready."""
        return self.planned is not None and (self.planned - today).days <= NEAR_DAYS and self.ready < self.total


def live_board(service: Service) -> tuple[Board, list[WaveView]]:
    service.approved_dir.mkdir(parents=True, exist_ok=True)
    now = service.now()
    board = make_board(service.approved_dir, None, service.key.public_key(), now)
    board.warnings = [w for w in board.warnings if not w.startswith("no certificate.json")]
    if service.config.trial:
        for row in board.rows:
            simulated = [r for r in row.reasons if r.startswith(_SIMULATED)]
            if simulated:
                row.reasons = [r for r in row.reasons if r not in simulated]
                row.notes.append("trial service: a simulated test system's certificate counts")
    dates = service.wave_dates()
    summary = board.summary()
    waves = [WaveView(n, title, dates.get(n), *summary[n]) for n, title in WAVES.items()]
    return board, waves
