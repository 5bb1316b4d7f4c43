"""The consumer pacts and what they cover: where the pact files are, which providers they name, and the
requirement IDs (`requirements.yaml`) each recorded interaction proves.

The consumer tests (`tests/pact/consumer/`) record what the engine, the payment solution and the
debtor system really send and expect; the pact files land in `contracts/pacts/`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import ContractError

PACT_DIR = Path(__file__).resolve().parents[2] / "pacts"

# Provider names in the pact files: the contract each provider implements.
PROVIDERS = ("fbs", "oir-debitor-v3", "psrm-fordringshaver", "oir-fagsystem-v3")

# Every interaction the consumer tests record, by its description, with the requirement IDs it covers.
# A consumer test that adds an interaction adds its row here; tests/pact check that none is missing.
INTERACTION_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    # oir-engine -> fbs
    "a read of the claim-event feed from the start": ("FBS-FEED", "FBS-CLAIM-TYPES", "MSG-HEADER-BLOCK"),
    "a read of the claim-event feed after the last cursor": ("FBS-FEED",),
    "a DAEKNING posting from a debtor system's callback": ("B01R-PAYMENT", "FBS-POSTING-ONCE", "MSG-MONEY-OERE"),
    "a status notice that a claim was handed over to PSRM": ("B01R-COLLECTION-STATUS", "FBS-POSTING-ONCE"),
    "a rejection of a claim the debtor system refused": ("B01-REJECT-WITH-REASON", "FBS-REJECTION-CORRECTED"),
    "a look-up of a claim for reconciliation": ("FBS-NO-PAYMENTS", "B01R-RETRY"),
    # oir-engine -> oir-debitor-v3
    "OpretDebitorkonto for a borrower's new fee": (
        "B01-CREATE-ACCOUNT",
        "MSG-HEADER-BLOCK",
        "MSG-MUNICIPALITY-CVR",
        "MSG-MONEY-OERE",
        "ID-CPR-FORMAT",
        "B01-SORTIMENT",
    ),
    "RetFordringTilstand writing a claim down": ("B01-WRITE-DOWN", "MSG-MONEY-OERE"),
    "RetFordringTilstand annulling a claim": ("B01-ANNUL",),
    "AendrHaeftelse after a CPR change": ("B01-CHANGE-LIABLE", "ID-CPR-FORMAT"),
    "HentDebitorkonto for reconciliation": ("B02-LOOKUP", "B01R-RETRY"),
    # betalingsloesning -> oir-debitor-v3 (B_03)
    "SoegDelfordringTilIndbetaling for a citizen": ("B03-SEARCH", "B03-NEXT-DAY", "PROFILE-B03-CAPABILITY"),
    "ForetagIndbetaling of a payable sub-claim": ("B03-PAY", "MSG-MONEY-OERE"),
    # debitorsystem -> psrm-fordringshaver
    "MFFordringIndberet of a claim past its SRB": (
        "PSRM-SYNC-ANSWER",
        "PSRM-SRB-PASSED",
        "PSRM-NOTICE-GIVEN",
        "PSRM-MIN-100KR",
    ),
    "MFKvitteringHent before the receipt is ready": ("PSRM-SLOW-RECEIPT",),
    "MFKvitteringHent of a finished receipt": ("PSRM-RECEIPT-STATES",),
    "MFUnderretSamlingHent for the last three months": ("PSRM-NOTIFY-3-MONTHS", "PSRM-SETTLEMENT"),
    # debitorsystem -> oir-fagsystem-v3 (the engine as provider)
    "DaekningAfskrivning reporting a payment": ("B01R-PAYMENT", "B01R-EXACTLY-ONCE", "MSG-HEADER-BLOCK"),
    "DaekningAfskrivning reporting a closed account": ("B01R-ACCOUNT-CLOSED", "B01R-EXACTLY-ONCE"),
}

# Interactions that only a debtor system with a payment solution (B_03) must honour.
B03_CONSUMER = "betalingsloesning"


class PactCheckError(ContractError):
    """The pact files are missing or unreadable; a provider failing them is a result, not an error."""


# ---- the pact files -------------------------------------------------------------------------------------
def pact_files(provider: str, *, directory: Path = PACT_DIR, consumers: tuple[str, ...] | None = None) -> list[Path]:
    """The committed pact files whose provider is `provider` (optionally only these consumers)."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PactCheckError(f"{path}: not a readable pact file: {error}") from error
        if document.get("provider", {}).get("name") != provider:
            continue
        if consumers is not None and document.get("consumer", {}).get("name") not in consumers:
            continue
        found.append(path)
    return found


def pact_interactions(files: list[Path]) -> list[tuple[str, str, list[str]]]:
    rows = []
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        consumer = document["consumer"]["name"]
        for interaction in document.get("interactions", []):
            states = [s.get("name", "") for s in interaction.get("providerStates", [])]
            rows.append((consumer, interaction["description"], states))
    return rows
