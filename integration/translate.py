"""FBS claim events as ØiR messages: which call, to whom, with what body.

Pure functions: an event and a route in, outgoing message specifications out. The debtor account of
a borrower is one per municipality (`FBS-<municipality code>-<borrower number>`); FBS's claim and
sub-claim ids are kept, so a claim can be followed from library to debtor system to PSRM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .paths import DebtorPaths, FbsPaths
from .routing import RoutingTable
from .store import movement_signature


@dataclass(frozen=True)
class MessageSpec:
    kind: str
    target: str
    method: str
    path: str
    body: dict[str, Any]


def account_id(event: dict[str, Any]) -> str:
    return f"FBS-{event['kommuneKode']}-{event['fordring']['laanerId']}"


def _history(claim: dict[str, Any]) -> dict[str, Any]:
    """A migrated claim's SRB and reminders already sent, where the extract gave them (a claim from the
    feed has neither: the debtor system sets its SRB and sends its reminders itself)."""
    history: dict[str, Any] = {}
    if claim.get("sidsteRettidigeBetalingsdato"):
        history["sidsteRettidigeBetalingsdato"] = claim["sidsteRettidigeBetalingsdato"]
    if claim.get("rykkere"):
        history["tidligereRykkere"] = [{"nummer": r["nummer"], "dato": r["dato"]} for r in claim["rykkere"]]
    return history


def to_messages(event: dict[str, Any], routes: RoutingTable) -> list[MessageSpec]:
    """The debtor messages an event requires; raises RoutingError when it cannot be routed."""
    route = routes.route_for(event["kommuneCvr"])
    claim = event["fordring"]
    kind = event["type"]
    if kind == "FORDRING_OPRETTET":
        product = routes.product_for(route, claim["type"])
        return [
            MessageSpec(
                "REGISTER",
                "debtor",
                "POST",
                DebtorPaths.ACCOUNTS,
                {
                    "debitorkontoId": account_id(event),
                    "haeftelse": {"cpr": event["laaner"]["cpr"], "navn": event["laaner"]["navn"]},
                    "fordringer": [
                        {
                            "fordringId": claim["fordringId"],
                            "produktkode": product,
                            "tekst": claim["tekst"],
                            "stiftelsesdato": claim["stiftelsesdato"],
                            "forfaldsdato": claim["forfaldsdato"],
                            "anerkendt": claim["type"] == "ERSTATNING_ANERKENDT",
                            **_history(claim),
                            "delfordringer": [
                                {
                                    "delfordringId": part["delpostId"],
                                    "beloebOere": part["beloebOere"],
                                    "tekst": part["tekst"],
                                }
                                for part in claim["delposter"]
                            ],
                        }
                    ],
                },
            )
        ]
    if kind == "FORDRING_NEDSKREVET":
        write_down = event["nedskrivning"]
        return [
            MessageSpec(
                "STATE_CHANGE",
                "debtor",
                "POST",
                DebtorPaths.claim_state(claim["fordringId"]),
                {
                    "handling": "NEDSKRIVNING",
                    "beloebOere": write_down["beloebOere"],
                    "virkningsdato": write_down["virkningsdato"],
                    "aarsag": write_down["aarsag"],
                },
            )
        ]
    if kind == "FORDRING_ANNULLERET":
        return [
            MessageSpec(
                "STATE_CHANGE",
                "debtor",
                "POST",
                DebtorPaths.claim_state(claim["fordringId"]),
                {"handling": "ANNULLERING", "virkningsdato": event["tidspunkt"][:10], "aarsag": "ANDET"},
            )
        ]
    if kind == "CPR_AENDRET":
        return [
            MessageSpec(
                "LIABLE_CHANGE",
                "debtor",
                "POST",
                DebtorPaths.liable(account_id(event)),
                {
                    "nyHaeftelse": {"cpr": event["cprAendring"]["nyCpr"], "navn": event["laaner"]["navn"]},
                    "virkningsdato": event["tidspunkt"][:10],
                },
            )
        ]
    raise ValueError(f"unknown FBS event type {kind}")


def rejection(claim_id: str, rejection_id: str, code: str, text: str) -> MessageSpec:
    """A rejection for FBS: the claim waits there for correction."""
    return MessageSpec(
        "REJECTION",
        "fbs",
        "POST",
        FbsPaths.REJECTIONS,
        {"afvisningId": rejection_id, "fordringId": claim_id, "kode": code[:60], "tekst": text[:200] or code},
    )


def callback_to_fbs(
    callback: dict[str, Any], claims: dict[str, list[str]], repaired: frozenset[str] = frozenset()
) -> list[tuple[str, MessageSpec]]:
    """What FBS must hear of a DækningAfskrivning message: (claim id, message) pairs.

    `claims` maps each claim the message concerns to the sub-claim ids the engine registered. Money
    that covered the debtor system's own reminder fees or interest is not FBS's: only portions on
    registered sub-claims are posted; a message naming no sub-claims is posted in full. Portions in
    `repaired` (movement signatures reconciliation already posted) are not posted again.
    """
    kind = callback["type"]
    message_id = callback["meddelelseId"]
    if kind in ("DAEKNING", "AFSKRIVNING"):
        claim_id = callback["fordringId"]
        parts = callback.get("delfordringer")
        registered = set(claims.get(claim_id, []))
        if parts:
            amount = sum(
                p["beloebOere"]
                for p in parts
                if p["delfordringId"] in registered
                and movement_signature(p["delfordringId"], kind, p["beloebOere"], callback["dato"]) not in repaired
            )
        else:
            amount = callback["beloebOere"]
        if amount <= 0:
            return []
        body = {
            "posteringId": message_id,
            "fordringId": claim_id,
            "type": kind,
            "beloebOere": amount,
            "dato": callback["dato"],
        }
        if callback.get("kilde"):
            body["kilde"] = str(callback["kilde"])[:40]
        return [(claim_id, MessageSpec("POSTING", "fbs", "POST", FbsPaths.POSTINGS, body))]
    status = {
        "OVERDRAGET_TIL_INDDRIVELSE": "OVERDRAGET_TIL_INDDRIVELSE",
        "RETUR_FRA_INDDRIVELSE": "RETUR_FRA_INDDRIVELSE",
        "KONTO_LUKKET": "KONTO_LUKKET",
    }[kind]
    targets = [callback["fordringId"]] if callback.get("fordringId") else sorted(claims)
    messages = []
    for index, claim_id in enumerate(targets):
        body = {
            "meddelelseId": message_id if len(targets) == 1 else f"{message_id}-{index}",
            "fordringId": claim_id,
            "status": status,
            "dato": callback["dato"],
        }
        if callback.get("returKode"):
            body["returKode"] = callback["returKode"]
        messages.append((claim_id, MessageSpec("STATUS", "fbs", "POST", FbsPaths.STATUS_NOTICES, body)))
    return messages
