"""How long the engine keeps personal data: only while a message that carries it is still to go.

An OpretDebitorkonto or AfslutHæftelse body holds the borrower's CPR and name, which the engine must
keep, exactly as born, until the debtor system has answered: a retry resends the same body under the
same transaction id. Once the message is settled (accepted, or rejected and handed back to FBS) it is
never sent again, so its stored body and the debtor's answer keep the CPR masked (`DDMMYY-xxxx`) and
no name. Nothing the engine still needs is lost: exactly-once rests on transaction ids, message ids,
claim records and migration marks, none of which hold personal data. SQLite is opened with
`secure_delete`, so the overwritten values do not linger in free pages of the file.
"""

from __future__ import annotations

from typing import Any

from contracts.identity import mask_cpr, mask_cpr_in_text

_CPR_KEYS = {"cpr", "nycpr", "gammelcpr"}
_NAME_KEYS = {"navn"}


def forget_personal_data(value: Any) -> Any:
    """The value with every CPR masked and every name dropped (any depth; other values unchanged)."""
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if key.lower() in _NAME_KEYS:
                continue
            if key.lower() in _CPR_KEYS and isinstance(item, str):
                kept[key] = mask_cpr(item)
            else:
                kept[key] = forget_personal_data(item)
        return kept
    if isinstance(value, list):
        return [forget_personal_data(item) for item in value]
    if isinstance(value, str):
        # A CPR is ten digits at least: shorter strings (codes, amounts, dates) need no regex.
        return mask_cpr_in_text(value) if len(value) >= 10 else value
    return value
