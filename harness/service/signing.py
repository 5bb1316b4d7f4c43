"""KOMBIT's certificate: the certificate a run produced, re-issued and signed with the service's key after a
reviewer approved the run.

The run's own `certificate.json` says what the run found, signed by the runner's key (the key of the
`oir certify` subprocess, kept apart from KOMBIT's). Approval takes that certificate's content
unchanged — the same digests of suite, specs, pacts and profile, the same requirement outcomes — except
that each deviation the reviewer accepted moves its requirement from `failed` or `notVerified` to
`acceptedDeviations` (owner: the reviewer), the verdict follows (CERTIFIED_WITH_DEVIATIONS when any
deviation is accepted), it is issued now for the service's validity — or until the first accepted
deviation expires, whichever comes first: a certificate resting on a deviation ends with it — and names
its issuer (the service, the run, the reviewer). It is signed with `certificate.sign` — the same envelope
and JWS as every certificate — so `oir verify-certificate --public-key <the service's /public-key.pem>`
accepts it and any other key refuses it. A requirement still failed after the deviations means no certificate: approval
is refused, the reviewer rejects or accepts that deviation too.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..certification.certificate import rfc3339, sign
from ..certification.judge import CERTIFIED, CERTIFIED_WITH_DEVIATIONS


def _end_of(deviation: dict[str, str]) -> datetime:
    """A deviation holds through its expiry date (as a profile's does: `active_on`), until midnight UTC."""
    return datetime.combine(date.fromisoformat(deviation["expires"]) + timedelta(days=1), time(0, 0), UTC)


def approved_certificate(
    document: dict[str, Any],
    accepted: list[dict[str, str]],
    key: Ed25519PrivateKey,
    now: datetime,
    validity_days: int,
    issuer: dict[str, Any],
) -> dict[str, Any]:
    """The signed certificate of an approved run; ValueError when a deviation does not fit the run, or a
    requirement is still failed."""
    certificate = copy.deepcopy(document["certificate"])
    requirements = certificate["requirements"]
    failed = list(requirements.get("failed") or [])
    not_verified = list(requirements.get("notVerified") or [])
    deviations = list(requirements.get("acceptedDeviations") or [])
    for deviation in accepted:
        rid = deviation["requirement"]
        if rid in failed:
            failed.remove(rid)
        elif rid in not_verified:
            not_verified.remove(rid)
        else:
            raise ValueError(f"deviation {rid}: the run neither failed nor left unverified that requirement")
        deviations.append(deviation)
    if failed:
        raise ValueError(f"requirement(s) {', '.join(failed)} failed: reject the run, or accept a deviation for each")
    requirements.update(failed=failed, notVerified=not_verified, acceptedDeviations=deviations)
    certificate["verdict"] = CERTIFIED_WITH_DEVIATIONS if deviations else CERTIFIED
    certificate["issued"] = rfc3339(now)
    certificate["expires"] = rfc3339(min([now + timedelta(days=validity_days), *map(_end_of, accepted)]))
    certificate["issuer"] = issuer
    return sign(certificate, key)
