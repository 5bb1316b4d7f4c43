"""The engine's structured log: one JSON line per event worth seeing, every line CPR-masked.

Operators follow the engine by these lines (a cycle's tally, a business rejection and its code, a
retry and the status that caused it, a circuit opening or closing). A debtor's rejection text or an
error message can quote a CPR number back at us, so the whole line passes through CPR masking here,
in one place, rather than at each call site.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from contracts.identity import mask_cpr_in_text

log = logging.getLogger("oir.engine")


def log_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log `{"event": event, **fields}` as one JSON line with every CPR number masked."""
    if not log.isEnabledFor(level):
        return
    log.log(level, mask_cpr_in_text(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str)))
