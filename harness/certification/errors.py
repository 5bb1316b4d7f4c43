"""The typed exceptions of certification, under one root, so the CLI can turn each into exit 2 or 1."""

from __future__ import annotations

from ..errors import HarnessError


class CertificationError(HarnessError, RuntimeError):
    """Root of everything certification raises on purpose."""


class TargetUnreachableError(CertificationError):
    """The vendor's debtor URL does not answer at all."""


class PreflightError(CertificationError):
    """Before any check: the run is not configured to mean anything (the token is refused, the callback
    address does not answer); exit 2 with what to fix."""


class TestControlUnavailableError(CertificationError):
    """The vendor declared test control (`--test-control`), but its system does not offer it to this token."""


class CounterpartStartError(CertificationError):
    """A system the harness runs for the vendor (PSRM, the callback receiver) could not start."""


class SigningKeyError(CertificationError):
    """The signing key or a trusted public key is missing, unreadable or of the wrong kind."""


class CertificateFileError(CertificationError):
    """A certificate file is missing, not JSON or not an oir-certificate at all (a usage error)."""


class PactFilesError(CertificationError):
    """The consumer pacts the debtor system must honour are missing or unreadable (a broken install)."""


class SelectionError(CertificationError):
    """`oir certify --only` names no check of the profile, or `--last-failed` finds no earlier report."""
