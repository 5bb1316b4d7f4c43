"""A stand-in for `certify_profile` that a spawned process can import: it reports two steps, answers
with the process it ran in, and refuses the profile `eg` as certification refuses a bad selection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.certification.errors import CertificationError


def fake_certify(name: str, folder: Path, *, progress: Any, **_: Any) -> dict[str, Any]:
    progress("contract fuzzing")
    progress("scenarios")
    if name == "eg":
        raise CertificationError(f"{name}: no check matches 'nothing'")
    return {"profile": name, "pid": os.getpid()}
