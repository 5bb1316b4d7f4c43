"""The PSRM simulator: Gældsstyrelsen's debt collection, as the creditor's debtor system sees it."""

from .app import create_app

__all__ = ["create_app"]
