"""Format rules of Danish identity numbers, in one place for simulators, engine and reports.

CPR: 10 digits DDMMYYSSSS. Since 2007 not every CPR passes the modulus-11 check, so it is never
applied. CVR: 8 digits with a modulus-11 check digit (weights 2,7,6,5,4,3,2,1). A CPR is personal
data: anything that leaves the process shows it as DDMMYY-xxxx.
"""

from __future__ import annotations

import re

CPR_PATTERN = r"^(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{6}$"
CVR_PATTERN = r"^[0-9]{8}$"
_CPR = re.compile(CPR_PATTERN)
_CVR = re.compile(CVR_PATTERN)
_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
# Masking casts a wider net than validation: anything shaped like a CPR (even day 32) is hidden.
# A whole UUID (message, transaction and claim ids), which may hold ten digits in its last group.
UUID_PATTERN = r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?![0-9A-Za-z])"
# A UUID is matched first and left whole, so an id listed in evidence stays the id the other system saw.
_CPR_IN_TEXT = re.compile(UUID_PATTERN + r"|(?<![0-9])([0-3][0-9][01][0-9][0-9]{2})-?[0-9]{4}(?![0-9])")


def is_valid_cpr(value: str) -> bool:
    return isinstance(value, str) and bool(_CPR.match(value))


def is_valid_cvr(value: str) -> bool:
    if not isinstance(value, str) or not _CVR.match(value):
        return False
    return sum(int(d) * w for d, w in zip(value, _CVR_WEIGHTS, strict=True)) % 11 == 0


def cvr_check_digit(first7: str) -> int | None:
    """The eighth digit that makes a valid CVR, or None where no digit can."""
    if len(first7) != 7 or not first7.isdigit():
        raise ValueError("give the first seven digits")
    remainder = sum(int(d) * w for d, w in zip(first7, _CVR_WEIGHTS[:7], strict=True)) % 11
    digit = (11 - remainder) % 11
    return None if digit == 10 else digit


def mask_cpr(value: str) -> str:
    digits = value.replace("-", "")
    return f"{digits[:6]}-xxxx"


def mask_cpr_in_text(text: str) -> str:
    """Replace every CPR-looking run of digits (with or without the dash) by DDMMYY-xxxx."""
    return _CPR_IN_TEXT.sub(lambda m: f"{m.group(1)}-xxxx" if m.group(1) else m.group(0), text)
