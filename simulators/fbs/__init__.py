"""The FBS simulator: the shared library system that makes claims and takes no payments itself."""

from .app import create_app

__all__ = ["create_app"]
