"""FBS claim events as ØiR messages: which call, to whom, with what body.

Pure functions: an event and a route in, outgoing message specifications out. The debtor account of
a borrower is one per municipality (`FBS-<municipality code>-<borrower number>`); FBS's claim and
sub-claim ids are kept, so a claim can be followed from library to debtor system to PSRM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


def _state_change(debtor_claim: str, body: dict[str, Any]) -> MessageSpec:
    """RetFordringTilstand on one debtor claim (a write-down, an annulment, a payment hold or its lifting)."""
    return MessageSpec("STATE_CHANGE", "debtor", "POST", DebtorPaths.claim_state(debtor_claim), body)


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


def _register(event: dict[str, Any], claim: dict[str, Any]) -> MessageSpec:
    """OpretDebitorkonto of one claim on the borrower's account (created with it, or a further claim)."""
    return MessageSpec(
        "REGISTER",
        "debtor",
        "POST",
        DebtorPaths.ACCOUNTS,
        {
            "debitorkontoId": account_id(event),
            "haeftelse": {"cpr": event["laaner"]["cpr"], "navn": event["laaner"]["navn"]},
            "fordringer": [claim],
        },
    )


def write_up_claim_id(claim_id: str, version: int) -> str:
    """The debtor claim a write-up (opskrivning) of FBS claim `claim_id` is registered as."""
    return f"{claim_id}-OP{version}"


def acknowledged_claim_id(claim_id: str, version: int) -> str:
    """The debtor claim an FBS replacement claim acknowledged after it was raised is registered as."""
    return f"{claim_id}-A{version}"


def _version(debtor_claim: str, claim_id: str, marker: str) -> int | None:
    match = re.fullmatch(re.escape(claim_id) + f"-{marker}([0-9]+)", debtor_claim)
    return int(match.group(1)) if match else None


def live_debtor_claims(claim_id: str, registered: Sequence[str]) -> list[str]:
    """The debtor claims that now carry FBS claim `claim_id`, the main one first: the newest acknowledged
    claim (or the claim itself) and the write-ups registered after it. A write-down goes to the main one;
    an annulment or a later acknowledgement to all of them."""
    acknowledged = [(v, c) for c in registered if (v := _version(c, claim_id, "A")) is not None]
    main, since = max(acknowledged) if acknowledged else (0, claim_id)
    write_ups = sorted((v, c) for c in registered if (v := _version(c, claim_id, "OP")) is not None and v > main)
    return [since, *(c for _, c in write_ups)]


def to_messages(event: dict[str, Any], routes: RoutingTable, registered: Sequence[str] = ()) -> list[MessageSpec]:
    """The debtor messages an event requires; raises RoutingError when it cannot be routed.

    `registered`: the debtor claims the engine registered for the event's FBS claim so far (an
    acknowledgement annuls them). The ØiR messages cannot change a registered claim's amount, product or
    acknowledgement (RetFordringTilstand writes down and annuls, nothing else), so with what they offer:
    - a write-up (FORDRING_OPSKREVET) is a further claim on the borrower's account (B01-ADD-CLAIMS),
      `<claim>-OP<version>`, carrying FBS's new part;
    - an acknowledgement (FORDRING_ANERKENDT) registers what is open as an acknowledged claim
      `<claim>-A<version>` (the kind PSRM collects; a fresh invoice, so its reminders and notice are
      given for it) and then annuls the claims registered before, changed basis.
    Either debtor claim's payments and write-offs post to the FBS claim (the engine remembers whose it is).
    A dispute (FORDRING_INDSIGELSE) is a payment hold without end date on the debtor claims that carry the
    FBS claim; the library's rejection of it (FORDRING_INDSIGELSE_AFGJORT, AFVIST) lifts the hold.
    """
    route = routes.route_for(event["kommuneCvr"])
    claim = event["fordring"]
    kind = event["type"]
    live = live_debtor_claims(claim["fordringId"], registered)
    if kind == "FORDRING_OPRETTET":
        product = routes.product_for(route, claim["type"])
        return [
            _register(
                event,
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
                },
            )
        ]
    if kind == "FORDRING_OPSKREVET":
        write_up = event["opskrivning"]
        return [
            _register(
                event,
                {
                    "fordringId": write_up_claim_id(claim["fordringId"], claim["version"]),
                    "produktkode": routes.product_for(route, claim["type"]),
                    "tekst": write_up["tekst"],
                    "stiftelsesdato": write_up["virkningsdato"],
                    "forfaldsdato": max(write_up["virkningsdato"], claim["forfaldsdato"]),
                    "anerkendt": claim["type"] == "ERSTATNING_ANERKENDT",
                    "delfordringer": [
                        {
                            "delfordringId": write_up["delpostId"],
                            "beloebOere": write_up["beloebOere"],
                            "tekst": write_up["tekst"],
                        }
                    ],
                },
            )
        ]
    if kind == "FORDRING_ANERKENDT":
        acknowledged = event["anerkendelse"]
        new_id = acknowledged_claim_id(claim["fordringId"], claim["version"])
        specs = []
        if acknowledged["saldoOere"] > 0:
            specs.append(
                _register(
                    event,
                    {
                        "fordringId": new_id,
                        "produktkode": routes.product_for(route, "ERSTATNING_ANERKENDT"),
                        "tekst": claim["tekst"],
                        "stiftelsesdato": claim["stiftelsesdato"],
                        "forfaldsdato": max(acknowledged["dato"], claim["forfaldsdato"]),
                        "anerkendt": True,
                        "delfordringer": [
                            {
                                "delfordringId": f"{new_id}-1",
                                "beloebOere": acknowledged["saldoOere"],
                                "tekst": f"{claim['tekst']} (anerkendt {acknowledged['dato']})"[:200],
                            }
                        ],
                    },
                )
            )
        for earlier in live:
            if earlier != new_id:
                specs.append(
                    _state_change(
                        earlier,
                        {
                            "handling": "ANNULLERING",
                            "virkningsdato": acknowledged["dato"],
                            "aarsag": "AENDRET_GRUNDLAG",
                        },
                    )
                )
        return specs
    if kind == "FORDRING_NEDSKREVET":
        write_down = event["nedskrivning"]
        return [
            _state_change(
                live[0],
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
            _state_change(
                debtor_claim, {"handling": "ANNULLERING", "virkningsdato": event["tidspunkt"][:10], "aarsag": "ANDET"}
            )
            for debtor_claim in live
        ]
    if kind == "FORDRING_INDSIGELSE":
        # The borrower disputes the claim: its collection pauses at the debtor system (a payment hold
        # without end date) until the library decides
        return [
            _state_change(debtor_claim, {"handling": "BETALINGSSTANDSNING", "aarsag": "INDSIGELSE"})
            for debtor_claim in live
        ]
    if kind == "FORDRING_INDSIGELSE_AFGJORT":
        # Rejected: collection resumes (the hold is lifted). Upheld: FBS annuls the claim, and its
        # FORDRING_ANNULLERET, next in the feed, annuls it at the debtor system the usual way
        if event["indsigelse"].get("udfald") != "AFVIST":
            return []
        return [_state_change(debtor_claim, {"handling": "OPHAEV_BETALINGSSTANDSNING"}) for debtor_claim in live]
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
    callback: dict[str, Any],
    claims: dict[str, list[str]],
    repaired: frozenset[str] = frozenset(),
    fbs_claims: Mapping[str, str] | None = None,
) -> list[tuple[str, MessageSpec]]:
    """What FBS must hear of a DækningAfskrivning message: (debtor claim id, message) pairs.

    `claims` maps each claim the message concerns to the sub-claim ids the engine registered. Money
    that covered the debtor system's own reminder fees or interest is not FBS's: only portions on
    registered sub-claims are posted; a message naming no sub-claims is posted in full. Portions in
    `repaired` (movement signatures reconciliation already posted) are not posted again. `fbs_claims`
    names the FBS claim of a debtor claim that is not FBS's own id (a write-up, an acknowledgement):
    the message goes to that FBS claim, and a status for several debtor claims of one FBS claim goes once.
    """
    fbs_of = fbs_claims or {}
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
            "fordringId": fbs_of.get(claim_id, claim_id),
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
    debtor_claims = [callback["fordringId"]] if callback.get("fordringId") else sorted(claims)
    targets: dict[str, str] = {}  # each FBS claim once, with the first debtor claim naming it
    for debtor_claim in debtor_claims:
        targets.setdefault(fbs_of.get(debtor_claim, debtor_claim), debtor_claim)
    messages = []
    for index, (fbs_claim, claim_id) in enumerate(targets.items()):
        body = {
            "meddelelseId": message_id if len(targets) == 1 else f"{message_id}-{index}",
            "fordringId": fbs_claim,
            "status": status,
            "dato": callback["dato"],
        }
        if callback.get("returKode"):
            body["returKode"] = callback["returKode"]
        messages.append((claim_id, MessageSpec("STATUS", "fbs", "POST", FbsPaths.STATUS_NOTICES, body)))
    return messages
