"""Everything the vendor sends is judged: each DækningAfskrivning message that reached the fagsystem's
callback address (the relay) during a certification run, and each action it delivered to the harness's
PSRM (MFFordringIndberet, from PSRM's journal), whether a check awaited it or not.

Rules, each failing the requirement it breaks:
- exactly once (B01R-EXACTLY-ONCE): the same money or status — the same type, account, claim, amount,
  date, parts, source and reference — under a second message id is a duplicate the fagsystem would
  count twice (a redelivery under the same message id is not: the receiver deduplicates on it);
- the run's credentials (ROUTE-CREDENTIALS): a message without the callback token this run gave the
  vendor (another vendor's or fagsystem's token) acts for someone else;
- the municipality (MSG-MUNICIPALITY-CVR, B01-OWN-ACCOUNTS-ONLY): a message names the municipality by
  its CVR; one about another municipality than those the vendor's profile serves, or about a claim
  the run registered for another municipality, tells this fagsystem about accounts not its own.
- PSRM, exactly once: the same action on the same creditor reference with the same content under a
  second MFAktionID is a duplicate — a claim created twice is two claims for one reference
  (PSRM-NO-MERGE), any other action applied twice (PSRM-ACTION-ID-UNIQUE: a resent action keeps its id,
  so PSRM refuses it with code 600 instead of applying it again).
A message that came after the run's checks ended (while the harness was still up) is judged the same
way and listed as late. The check passes citing nothing: seeing no duplicate proves no requirement, it
only finds none broken.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .judge import CheckOutcome

CHECK = "sent-messages"
EXACTLY_ONCE = "B01R-EXACTLY-ONCE"
CREDENTIALS = "ROUTE-CREDENTIALS"
MUNICIPALITY = "MSG-MUNICIPALITY-CVR"
OWN_ACCOUNTS = "B01-OWN-ACCOUNTS-ONLY"
PSRM_NO_MERGE = "PSRM-NO-MERGE"
PSRM_ACTION_ID = "PSRM-ACTION-ID-UNIQUE"
_CLAIM_CREATIONS = ("OPRETFORDRING", "GENINDSENDFORDRING")
__all__ = ["CHECK", "SentJudgement", "judge_sent"]


@dataclass
class SentJudgement:
    received: int
    psrm_actions: int = 0  # actions the vendor delivered to PSRM
    late: list[dict[str, Any]] = field(default_factory=list)  # what came after the checks ended
    violations: list[dict[str, Any]] = field(default_factory=list)  # {requirement, rule, message ids, detail}

    @property
    def requirements(self) -> list[str]:
        return sorted({v["requirement"] for v in self.violations})

    def outcome(self) -> CheckOutcome:
        return CheckOutcome(CHECK, tuple(self.requirements), not self.violations)

    def evidence(self) -> list[str]:
        return [f"{v['requirement']}: {v['detail']}" for v in self.violations]

    def as_json(self) -> dict[str, Any]:
        return {
            "check": CHECK,
            "received": self.received,
            "psrmActions": self.psrm_actions,
            "late": self.late,
            "violations": self.violations,
            "passed": not self.violations,
        }


def _public(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _what(message: Mapping[str, Any]) -> str:
    """The money or status a message reports, without its message id."""
    content = {k: v for k, v in _public(message).items() if k != "meddelelseId"}
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def _short(message: Mapping[str, Any]) -> str:
    amount = f" {message['beloebOere']} øre" if "beloebOere" in message else ""
    claim = message.get("fordringId") or message.get("debitorkontoId")
    return f"{message.get('type')}{amount} on {claim} (message {message.get('meddelelseId')})"


def judge_sent(
    messages: Sequence[Mapping[str, Any]],
    *,
    own_cvrs: Collection[str],
    claims: Mapping[str, str] | None = None,
    ended_at: float | None = None,
    psrm_deliveries: Sequence[Any] = (),
) -> SentJudgement:
    """Judge the relay's kept messages (`CallbackRelay.received()`). `own_cvrs`: the municipalities the
    vendor's profile serves; `claims`: claim or account id -> the CVR the run registered it for;
    `ended_at`: when the checks ended (monotonic seconds; later messages are listed as late);
    `psrm_deliveries`: the bodies of the deliveries (`{"aktioner": [...]}`) PSRM received from it."""
    judged = SentJudgement(received=len(messages))
    _judge_psrm(judged, psrm_deliveries)
    known = dict(claims or {})
    seen: dict[str, list[Mapping[str, Any]]] = {}
    for message in messages:
        if message.get("_preflight"):  # the harness's own preflight message, not the vendor's
            continue
        if ended_at is not None and message.get("_mono", 0.0) > ended_at:
            judged.late.append({**_public(message), "status": message.get("_status")})
        if not message.get("_token_ok", True):
            judged.violations.append(
                {
                    "requirement": CREDENTIALS,
                    "rule": "the run's callback token",
                    "messages": [message.get("meddelelseId")],
                    "detail": f"{_short(message)} came without the callback token this run gave the vendor",
                }
            )
            continue  # not the vendor speaking for this fagsystem: no content of it counts
        cvr = message.get("_cvr")
        owner = known.get(str(message.get("fordringId"))) or known.get(str(message.get("debitorkontoId")))
        if not cvr:
            judged.violations.append(
                {
                    "requirement": MUNICIPALITY,
                    "rule": "names its municipality",
                    "messages": [message.get("meddelelseId")],
                    "detail": f"{_short(message)} names no municipality (X-Kommune-Cvr)",
                }
            )
        elif cvr not in own_cvrs or (owner is not None and owner != cvr):
            whose = f"registered for {owner}" if owner is not None and owner != cvr else "not one the profile serves"
            judged.violations.append(
                {
                    "requirement": OWN_ACCOUNTS,
                    "rule": "about the fagsystem's own municipality",
                    "messages": [message.get("meddelelseId")],
                    "detail": f"{_short(message)} names municipality {cvr}, {whose}",
                }
            )
        seen.setdefault(_what(message), []).append(message)
    for copies in seen.values():
        ids = list(dict.fromkeys(str(m.get("meddelelseId")) for m in copies))
        if len(ids) > 1:
            judged.violations.append(
                {
                    "requirement": EXACTLY_ONCE,
                    "rule": "the same money or status once",
                    "messages": ids,
                    "detail": f"{_short(copies[0])} was sent again under {len(ids) - 1} other message id(s): "
                    + ", ".join(ids[1:]),
                }
            )
    return judged


def _judge_psrm(judged: SentJudgement, deliveries: Sequence[Any]) -> None:
    seen: dict[str, list[Mapping[str, Any]]] = {}
    for delivery in deliveries:
        actions = delivery.get("aktioner") if isinstance(delivery, Mapping) else None
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, Mapping):
                continue
            judged.psrm_actions += 1
            content = {k: v for k, v in action.items() if k != "mfAktionId"}
            seen.setdefault(json.dumps(content, sort_keys=True, ensure_ascii=False), []).append(action)
    for copies in seen.values():
        ids = list(dict.fromkeys(str(a.get("mfAktionId")) for a in copies))
        if len(ids) < 2:
            continue
        kind = str(copies[0].get("aktion"))
        judged.violations.append(
            {
                "requirement": PSRM_NO_MERGE if kind in _CLAIM_CREATIONS else PSRM_ACTION_ID,
                "rule": "the same PSRM action once",
                "messages": ids,
                "detail": f"{kind} of {copies[0].get('fordringshaverReference')} was sent to PSRM under "
                f"{len(ids)} action ids: {', '.join(ids)}",
            }
        )
