"""Certification: run the contract checks and probes against a debtor system and judge it."""

from .run import CertificationResult, certify_profile

__all__ = ["CertificationResult", "certify_profile"]
