"""Ids that look like personal data to a pattern and are not.

Message, transaction and claim ids are random UUIDs; about one in ten has a last group whose ten
digits read as a CPR number. A test that scans written files for unmasked CPR numbers takes the
UUIDs out first, as the masking itself does (`contracts.identity.mask_cpr_in_text`).
"""

from __future__ import annotations

import re

from contracts.identity import UUID_PATTERN

_UUID = re.compile(UUID_PATTERN)
_UUID_BYTES = re.compile(UUID_PATTERN.encode())


def without_uuids(text: str) -> str:
    return _UUID.sub("<uuid>", text)


def without_uuids_in_bytes(data: bytes) -> bytes:
    return _UUID_BYTES.sub(b"<uuid>", data)
