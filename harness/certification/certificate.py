"""`certificate.json`: a signed, content-addressed, expiring statement of what a certification run proved.

Content-addressed: it carries the sha256 of the suite that ran and judged (every file certification
runs or judges a check with — probes, pact verification, scenario language, runner, matchers, actions,
suites, the verdict, the engine and the counterpart simulators — computed from the packages, suite.py),
of every contract file used, of each consumer pact file verified and of the profile file, so a verifier
can tell whether this installed harness would test and judge the same thing.
It says of every requirement its outcome: passed (verified, and `verifiedHow`), failed, accepted
deviation, not applicable (the profile declares the capability absent) or not verified; no requirement
is in two of those lists (the verifier checks it).
Signed with Ed25519 over the canonical JSON (sorted keys, no spaces, UTF-8) of the `certificate` object —
for what a certificate holds (ASCII keys, strings, integers, booleans; no floats) exactly the RFC 8785
(JCS) form — and, in the same envelope, as a compact JWS (RFC 7515, `alg: EdDSA` of RFC 8037) whose
payload is those same bytes: `signature.jws`. So KOMBIT can check a certificate with any JOSE library or
tool (`jwt.decode(jws, public_pem, algorithms=["EdDSA"], options=...)`, `jose`, `step crypto jws verify`)
as well as with `oir verify-certificate`, which checks both and that the JWS says what the readable
`certificate` says. JWS rather than a DSSE/in-toto attestation: an in-toto Statement is about artefacts
named by their digests, and the tools around it (cosign's verify-blob-attestation) check a blob against
those; what a certificate speaks of is a vendor's running system, and JOSE verifiers exist in every
language KOMBIT's systems are written in. The schema stays `oir-certificate/2`: the `certificate` object
is unchanged, and a certificate signed before the JWS was added (no `signature.jws`) still verifies.
Verification trusts a public key it is given (or the harness's own), never the key a certificate
carries, so a certificate re-signed with another key fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.checks.pact import PACT_DIR
from contracts.profile import profile_path
from contracts.requirements import CATALOGUE
from contracts.specs import spec_path

from .errors import CertificateFileError
from .keys import key_id, public_b64, public_raw
from .pacts import pact_digests
from .suite import suite_digest

SCHEMA = "oir-certificate/2"  # 2: notApplicable and verifiedHow; the suite digest covers what judges
VALIDITY_DAYS = 180
CONTRACTS_USED = ("oir-debitor-v3", "oir-testkontrol-v1", "oir-fagsystem-v3", "psrm-fordringshaver")
OUTCOME_LISTS = ("passed", "failed", "notApplicable", "notVerified")  # a requirement is in at most one


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def contract_digests() -> dict[str, str]:
    digests = {name: _sha256(spec_path(name).read_bytes()) for name in CONTRACTS_USED}
    digests["requirements"] = _sha256(CATALOGUE.read_bytes())
    return digests


def file_digest(path: Path) -> str:
    return _sha256(path.read_bytes())


def harness_version() -> str:
    try:
        return metadata.version("oir-harness")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment


def build_certificate(
    *,
    profile: str,
    product: str,
    debtor_url: str,
    simulated: bool,
    seed: int,
    verdict: str,
    issued: datetime,
    profile_file: Path,
    passed: list[str],
    failed: list[str],
    accepted_deviations: list[dict[str, str]],
    pacts: dict[str, str] | None = None,
    validity_days: int = VALIDITY_DAYS,
    not_verified: list[str] | None = None,
    not_applicable: list[str] | None = None,
    verified_how: dict[str, str] | None = None,
    latency: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The unsigned certificate; `pacts` are the digests of the consumer pact files verified, by name
    (default: those that apply to the profile, as this harness has them); `verified_how` says how each
    passed requirement was verified (judge.py: real time, the simulator's virtual time); `latency` is
    the answer-time evidence (the profile's limit and, per operation, p50/p95/max: latency.py)."""
    certificate: dict[str, Any] = {
        "schema": SCHEMA,
        "profile": profile,
        "product": product,
        "target": {"debtorUrl": debtor_url, "simulated": simulated},
        "harnessVersion": harness_version(),
        "seed": seed,
        "verdict": verdict,
        "issued": rfc3339(issued),
        "expires": rfc3339(issued + timedelta(days=validity_days)),
        "digests": {
            "suite": suite_digest(),
            "contracts": contract_digests(),
            "pacts": pacts if pacts is not None else pact_digests(profile),
            "profile": file_digest(profile_file),
        },
        "requirements": {
            "passed": passed,
            "failed": failed,
            "acceptedDeviations": accepted_deviations,
            "notVerified": not_verified or [],  # cited only by checks this target could not run
            "notApplicable": not_applicable or [],  # the profile declares the capability they need absent
            "verifiedHow": verified_how or {},
        },
    }
    if latency is not None:
        certificate["latency"] = latency
    return certificate


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws(certificate: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """The certificate as a compact JWS (RFC 7515; EdDSA, RFC 8037) over its canonical (RFC 8785) JSON."""
    header = {"alg": "EdDSA", "kid": key_id(key.public_key()), "cty": SCHEMA}
    signing_input = f"{_b64url(canonical(header))}.{_b64url(canonical(certificate))}"
    return f"{signing_input}.{_b64url(key.sign(signing_input.encode()))}"


def sign(certificate: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    public = key.public_key()
    return {
        "certificate": certificate,
        "signature": {
            "algorithm": "Ed25519",
            "keyId": key_id(public),
            "publicKey": public_b64(public),
            "value": base64.b64encode(key.sign(canonical(certificate))).decode(),
            "jws": jws(certificate, key),
        },
    }


@dataclass
class Verification:
    certificate: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def read_certificate(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CertificateFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CertificateFileError(f"{path} is not JSON: {exc}") from exc
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("certificate"), dict)
        or not isinstance(document.get("signature"), dict)
    ):
        raise CertificateFileError(f"{path} is not an ØiR certificate (no 'certificate' and 'signature' objects)")
    return document


def verify(document: dict[str, Any], trusted: Ed25519PublicKey, now: datetime) -> Verification:
    """Check signature, digests and dates; every problem is named, not just the first."""
    certificate = document["certificate"]
    signature = document["signature"]
    result = Verification(certificate)
    _check_signature(certificate, signature, trusted, result)
    _check_digests(certificate, result)
    _check_outcomes(certificate, result)
    _check_dates(certificate, now, result)
    return result


def _check_signature(
    certificate: dict[str, Any], signature: dict[str, Any], trusted: Ed25519PublicKey, result: Verification
) -> None:
    if certificate.get("schema") != SCHEMA:
        result.problems.append(f"schema is {certificate.get('schema')!r}, expected {SCHEMA!r}")
    if signature.get("algorithm") != "Ed25519":
        result.problems.append(f"signature algorithm is {signature.get('algorithm')!r}, expected 'Ed25519'")
        return
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
    except binascii.Error:
        result.problems.append("signature value is not base64")
        return
    if signature.get("publicKey") != base64.b64encode(public_raw(trusted)).decode():
        result.notes.append(
            f"the certificate names key {signature.get('keyId')!r}; the trusted key is {key_id(trusted)}"
        )
    try:
        trusted.verify(value, canonical(certificate))
    except InvalidSignature:
        result.problems.append(
            f"signature does not verify with the trusted key {key_id(trusted)}: the certificate was altered "
            "or signed by another key"
        )
    if "jws" in signature:
        _check_jws(certificate, signature["jws"], trusted, result)


def _check_jws(certificate: dict[str, Any], token: object, trusted: Ed25519PublicKey, result: Verification) -> None:
    """The JWS must verify with the trusted key and carry the same certificate as the readable object."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        result.problems.append("signature.jws is not a compact JWS (header.payload.signature)")
        return
    try:
        header = json.loads(_unb64url(parts[0]))
        payload = json.loads(_unb64url(parts[1]))
        value = _unb64url(parts[2])
    except (ValueError, binascii.Error):
        result.problems.append("signature.jws is not base64url JSON")
        return
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        result.problems.append("signature.jws: algorithm is not EdDSA")
        return
    try:
        trusted.verify(value, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        result.problems.append(f"signature.jws does not verify with the trusted key {key_id(trusted)}")
        return
    if payload != certificate:
        result.problems.append("signature.jws carries another certificate than the one shown")


def _check_digests(certificate: dict[str, Any], result: Verification) -> None:
    digests = certificate.get("digests")
    if not isinstance(digests, dict):
        result.problems.append("digests are missing")
        return
    _compare(result, "suite", digests.get("suite"), suite_digest())
    contracts = digests.get("contracts")
    current = contract_digests()
    if not isinstance(contracts, dict):
        result.problems.append("contract digests are missing")
    else:
        for name, value in sorted(contracts.items()):
            if name not in current:
                result.problems.append(f"digest of contract {name}: this harness has no such contract")
            else:
                _compare(result, f"contract {name}", value, current[name])
        for name in sorted(set(current) - set(contracts)):
            result.problems.append(f"digest of contract {name} is missing from the certificate")
    profile = str(certificate.get("profile"))
    path = profile_path(profile)
    _check_pacts(digests.get("pacts"), profile if path.exists() else None, result)
    if not path.exists():
        result.problems.append(f"digest of profile {profile}: this harness has no such profile")
    else:
        _compare(result, f"profile {profile}", digests.get("profile"), file_digest(path))


def _check_outcomes(certificate: dict[str, Any], result: Verification) -> None:
    """Each requirement has one outcome: none is both passed and not applicable, say."""
    requirements = certificate.get("requirements")
    if not isinstance(requirements, dict):
        result.problems.append("the requirements are missing")
        return
    lists = {key: requirements.get(key) or [] for key in OUTCOME_LISTS}
    deviations = requirements.get("acceptedDeviations") or []
    lists["acceptedDeviations"] = [d.get("requirement") for d in deviations if isinstance(d, dict)]
    seen: dict[str, str] = {}
    for key, ids in lists.items():
        for rid in ids if isinstance(ids, list) else []:
            if rid in seen:
                result.problems.append(f"requirement {rid} is listed under both {seen[rid]} and {key}")
            seen.setdefault(str(rid), key)


def _check_pacts(recorded: object, profile: str | None, result: Verification) -> None:
    """The pact files the certificate names must be this harness's, and none that applies be missing."""
    if not isinstance(recorded, dict):
        result.problems.append("digests of the consumer pacts are missing")
        return
    for name, value in sorted(recorded.items()):
        path = PACT_DIR / f"{name}.json"
        if not path.is_file():
            result.problems.append(f"digest of pact {name}: this harness has no such pact file")
        else:
            _compare(result, f"pact {name}", value, file_digest(path))
    if profile is not None:
        for name in sorted(set(pact_digests(profile)) - set(recorded)):
            result.problems.append(f"digest of pact {name} is missing from the certificate")


def _compare(result: Verification, what: str, recorded: object, current: str) -> None:
    if recorded != current:
        result.problems.append(f"digest of {what} differs: certificate {recorded}, this harness {current}")


def _check_dates(certificate: dict[str, Any], now: datetime, result: Verification) -> None:
    try:
        issued = parse_rfc3339(str(certificate.get("issued")))
        expires = parse_rfc3339(str(certificate.get("expires")))
    except ValueError as exc:
        result.problems.append(f"issue or expiry date is not RFC 3339: {exc}")
        return
    if expires <= now:
        result.problems.append(f"expired on {rfc3339(expires)} (now {rfc3339(now)})")
    if issued > now:
        result.problems.append(f"issued in the future ({rfc3339(issued)}, now {rfc3339(now)})")
    if expires <= issued:
        result.problems.append(f"expires ({rfc3339(expires)}) before it was issued ({rfc3339(issued)})")
