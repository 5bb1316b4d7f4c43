"""Test-wide settings: no analytics from Pact, and the repository root importable without install."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
