"""Certification: run the contract checks and probes against a debtor system, judge it (with the
profile's accepted deviations), report, and sign a certificate that can be verified offline."""

from .certificate import Verification, read_certificate, verify
from .errors import (
    CertificateFileError,
    CertificationError,
    CounterpartStartError,
    PreflightError,
    SigningKeyError,
    TargetUnreachableError,
)
from .judge import (
    CERTIFIED,
    CERTIFIED_WITH_DEVIATIONS,
    NOT_CERTIFIED,
    OUTCOME_LABELS,
    STATUS_LABELS,
    VERDICTS,
    Judgement,
)
from .run import STEPS, CertificationResult, certify_profile
from .target import Counterparts, Target, check_reachable

__all__ = [
    "CERTIFIED",
    "CERTIFIED_WITH_DEVIATIONS",
    "NOT_CERTIFIED",
    "OUTCOME_LABELS",
    "STATUS_LABELS",
    "STEPS",
    "VERDICTS",
    "CertificateFileError",
    "CertificationError",
    "CertificationResult",
    "CounterpartStartError",
    "Counterparts",
    "Judgement",
    "PreflightError",
    "SigningKeyError",
    "Target",
    "TargetUnreachableError",
    "Verification",
    "certify_profile",
    "check_reachable",
    "read_certificate",
    "verify",
]
