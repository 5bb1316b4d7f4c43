"""Where the engine's calls go: the paths of the FBS and debtor-system operations it uses, written once.

The contracts name them (`contracts/openapi/fbs.yaml`, `oir-debitor-v3.yaml`); a route or the engine's
settings give the base URL. The outbox stores a message's path as it was born, so a path changed here
reaches only messages born after the change.
"""

from __future__ import annotations


class FbsPaths:
    """FBS, the library system: its feed, its claims, and what the engine reports back to it."""

    FEED = "/haendelser"  # hentHaendelser: the claim events, page by page after a cursor
    POSTINGS = "/posteringer"  # modtagPostering: a payment or write-off on a claim
    STATUS_NOTICES = "/statusmeddelelser"  # modtagStatusmeddelelse: handed over, returned, account closed
    REJECTIONS = "/afvisninger"  # modtagAfvisning: a claim the debtor system refused, for correction in FBS

    @staticmethod
    def claim(claim_id: str) -> str:
        """hentFordring: a claim and its postings (reconciliation reads it)."""
        return f"/fordringer/{claim_id}"


class DebtorPaths:
    """A debtor system (`oir-debitor-v3`): B_01 registrations and changes, the B_02 account read."""

    ACCOUNTS = "/debitorkonti"  # OpretDebitorkonto

    @staticmethod
    def account(account_id: str) -> str:
        """HentDebitorkonto (B_02): the account, its claims and their movements."""
        return f"/debitorkonti/{account_id}"

    @staticmethod
    def liable(account_id: str) -> str:
        """AendrHaeftelse: a new liable person on the account (a CPR change in FBS)."""
        return f"/debitorkonti/{account_id}/haeftelse"

    @staticmethod
    def claim_state(claim_id: str) -> str:
        """RetFordringTilstand: a write-down or an annulment."""
        return f"/fordringer/{claim_id}/tilstand"
