"""The citizen payment solution ("Mit Betalingsoverblik"): a B_03 consumer of the debtor systems."""

from .app import create_app

__all__ = ["create_app"]
