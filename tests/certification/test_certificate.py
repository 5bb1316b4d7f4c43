"""`oir verify-certificate` trusts only a key it was given (or the harness's own), checks every digest
against this installed harness and the expiry, and says exactly what fails: exit 0 valid, 1 invalid,
2 usage. A certificate altered in any field fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from contracts.profile import profile_path
from harness.certification.certificate import build_certificate, jws, sign
from harness.certification.keys import harness_key, public_pem
from harness.cli import app

runner = CliRunner()
NOW = datetime.now(UTC)  # real time: the CLI judges expiry against the moment of checking

LEAVES = [
    "schema",
    "profile",
    "product",
    "target.debtorUrl",
    "target.simulated",
    "harnessVersion",
    "seed",
    "verdict",
    "issued",
    "expires",
    "digests.suite",
    "digests.contracts.oir-debitor-v3",
    "digests.contracts.oir-fagsystem-v3",
    "digests.contracts.oir-testkontrol-v1",
    "digests.contracts.psrm-fordringshaver",
    "digests.contracts.requirements",
    "digests.pacts.oir-engine-oir-debitor-v3",
    "digests.profile",
    "requirements.passed.0",
    "requirements.passed.1",
    "requirements.failed.0",
    "requirements.acceptedDeviations.0.requirement",
    "requirements.acceptedDeviations.0.owner",
    "requirements.acceptedDeviations.0.reason",
    "requirements.acceptedDeviations.0.expires",
    "requirements.notVerified.0",
    "requirements.notApplicable.0",
    "requirements.verifiedHow.B01-CREATE-ACCOUNT",
    "requirements.verifiedHow.B02-LIST",
]


def _certificate(
    issued: datetime = NOW - timedelta(days=1), validity_days: int = 180, verdict: str = "CERTIFIED"
) -> dict[str, Any]:
    return build_certificate(
        profile="eg",
        product="EG",
        debtor_url="https://eg-test.example/oir",
        simulated=False,
        seed=7,
        verdict=verdict,
        issued=issued,
        profile_file=profile_path("eg"),
        passed=["B01-CREATE-ACCOUNT", "B02-LIST"],
        failed=["MSG-PROBLEM-JSON"],
        accepted_deviations=[
            {"requirement": "B01R-PAYMENT", "owner": "EG", "reason": "batch until 2027", "expires": "2027-03-01"}
        ],
        validity_days=validity_days,
        not_verified=["B01R-WRITE-OFF"],
        not_applicable=["B03-PAY"],
        verified_how={"B01-CREATE-ACCOUNT": "real time", "B02-LIST": "real time"},
    )


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _verify(*args: str) -> Any:
    return runner.invoke(app, ["verify-certificate", *args])


def _leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [prefix.rstrip(".")]


def _alter(document: dict[str, Any], leaf: str) -> None:
    *parents, last = leaf.split(".")
    node: Any = document["certificate"]
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    value = node[key]
    node[key] = (not value) if isinstance(value, bool) else value + 1 if isinstance(value, int) else value + "x"


def test_the_parametrised_leaves_are_every_leaf_of_a_certificate() -> None:
    assert sorted(_leaves(_certificate())) == sorted(LEAVES)


def test_a_valid_certificate_passes(tmp_path: Path) -> None:
    path = _write(tmp_path / "certificate.json", sign(_certificate(verdict="CERTIFIED"), harness_key()))
    result = _verify(str(path))
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "eg (EG), verdict CERTIFIED" in result.output
    assert "1 requirement(s) not verified: B01R-WRITE-OFF" in result.output


def test_a_valid_certificate_that_is_not_a_pass_exits_3_not_0_and_not_as_invalid(tmp_path: Path) -> None:
    """can-i-deploy: a genuine NOT_CERTIFIED certificate must stop a pipeline, distinguishable from a forgery."""
    path = _write(tmp_path / "certificate.json", sign(_certificate(verdict="NOT_CERTIFIED"), harness_key()))
    result = _verify(str(path))
    assert result.exit_code == 3, result.output
    assert "VALID, NOT A PASS" in result.output and "failed: MSG-PROBLEM-JSON" in result.output
    assert "INVALID" not in result.output


@pytest.mark.parametrize(
    ("verdict", "alter", "status", "code"),
    [
        ("CERTIFIED_WITH_DEVIATIONS", False, "pass", 0),
        ("NOT_CERTIFIED", False, "not-a-pass", 3),
        ("CERTIFIED", True, "invalid", 1),
    ],
)
def test_json_output_says_valid_pass_and_why(tmp_path: Path, verdict: str, alter: bool, status: str, code: int) -> None:
    document = sign(_certificate(verdict=verdict), harness_key())
    if alter:
        document["certificate"]["seed"] = 8
    result = _verify(str(_write(tmp_path / "certificate.json", document)), "--output", "json")
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    assert data["status"] == status and data["exitCode"] == code and data["verdict"] == verdict
    assert data["valid"] is (not alter) and data["pass"] is (status == "pass")
    assert data["profile"] == "eg" and data["notVerified"] == ["B01R-WRITE-OFF"]
    assert data["trustedKey"]["source"].startswith("this harness's own public key")
    assert bool(data["problems"]) is alter


def test_json_output_of_a_usage_error_is_json_too(tmp_path: Path) -> None:
    result = _verify(str(tmp_path / "nothing.json"), "--output", "json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["status"] == "error" and "cannot read" in json.loads(result.stdout)["error"]


def test_verifying_never_reads_the_private_key_and_says_which_key_it_trusts(tmp_path: Path, oir_home: Path) -> None:
    path = _write(tmp_path / "certificate.json", sign(_certificate(verdict="CERTIFIED"), harness_key()))
    private = oir_home / "signing-key.pem"
    mode = private.stat().st_mode
    private.chmod(0)  # a verifier (KOMBIT, CI) may have no access to the signer's private key at all
    try:
        result = _verify(str(path))
    finally:
        private.chmod(mode)
    assert result.exit_code == 0, result.output
    assert f"this harness's own public key {oir_home / 'signing-key.pub.pem'}" in result.output


def test_an_empty_public_key_variable_is_an_error_not_the_harness_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "certificate.json", sign(_certificate(verdict="CERTIFIED"), harness_key()))
    result = runner.invoke(app, ["verify-certificate", str(path)], env={"OIR_PUBLIC_KEY": ""})
    assert result.exit_code == 2
    assert "OIR_PUBLIC_KEY is set but empty" in result.output
    given = _verify(str(path), "--public-key", "")  # `--public-key "$OIR_PUBLIC_KEY"` with the variable missing
    assert given.exit_code == 2 and "--public-key is empty" in given.output


@pytest.mark.parametrize("leaf", LEAVES)
def test_a_certificate_altered_in_any_field_fails(tmp_path: Path, leaf: str) -> None:
    document = sign(_certificate(), harness_key())
    _alter(document, leaf)
    result = _verify(str(_write(tmp_path / "certificate.json", document)))
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output and "signature does not verify" in result.output


def test_an_expired_certificate_fails(tmp_path: Path) -> None:
    document = sign(_certificate(issued=NOW - timedelta(days=200), validity_days=180), harness_key())
    result = _verify(str(_write(tmp_path / "certificate.json", document)))
    assert result.exit_code == 1, result.output
    assert "expired on" in result.output and "signature" not in result.output


def test_a_certificate_signed_by_another_key_fails_even_though_it_carries_that_key(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    path = _write(tmp_path / "certificate.json", sign(_certificate(), other))
    result = _verify(str(path))
    assert result.exit_code == 1, result.output
    assert "signature does not verify with the trusted key" in result.output
    pem = tmp_path / "other.pub.pem"
    pem.write_bytes(public_pem(other.public_key()))
    trusted = _verify(str(path), "--public-key", str(pem))
    assert trusted.exit_code == 0, trusted.output


def test_a_digest_that_differs_from_this_harness_is_named(tmp_path: Path) -> None:
    certificate = _certificate()
    certificate["digests"]["contracts"]["oir-debitor-v3"] = "sha256:" + "0" * 64
    certificate["digests"]["profile"] = "sha256:" + "1" * 64
    certificate["digests"]["pacts"]["oir-engine-oir-debitor-v3"] = "sha256:" + "2" * 64
    result = _verify(str(_write(tmp_path / "certificate.json", sign(certificate, harness_key()))))
    assert result.exit_code == 1, result.output
    assert "digest of contract oir-debitor-v3 differs" in result.output
    assert "digest of profile eg differs" in result.output
    assert "digest of pact oir-engine-oir-debitor-v3 differs" in result.output
    assert "suite" not in result.output and "signature does not verify" not in result.output


def test_usage_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = _verify(str(tmp_path / "nothing.json"))
    assert missing.exit_code == 2 and "cannot read" in missing.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert _verify(str(garbage)).exit_code == 2 and "is not JSON" in _verify(str(garbage)).output
    other = _write(tmp_path / "other.json", {"hello": 1})
    assert "is not an ØiR certificate" in _verify(str(other)).output
    no_key = _verify(str(_write(tmp_path / "c.json", sign(_certificate(), harness_key()))), "--public-key", "nope.pem")
    assert no_key.exit_code == 2 and "cannot read key file nope.pem" in no_key.output
    assert _verify().exit_code == 2


def test_the_harness_public_key_can_be_exported_and_trusted(tmp_path: Path) -> None:
    exported = tmp_path / "harness.pub.pem"
    result = _verify("--export-public-key", str(exported))
    assert result.exit_code == 0 and exported.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    path = _write(tmp_path / "certificate.json", sign(_certificate(), harness_key()))
    assert _verify(str(path), "--public-key", str(exported)).exit_code == 0
    assert _verify(str(path), "--public-key", exported.read_text()).exit_code == 0  # PEM text, as from a secret


def test_a_certificate_without_a_pact_that_applies_is_named(tmp_path: Path) -> None:
    certificate = _certificate()
    certificate["digests"]["pacts"] = {}
    result = _verify(str(_write(tmp_path / "certificate.json", sign(certificate, harness_key()))))
    assert result.exit_code == 1, result.output
    assert "digest of pact oir-engine-oir-debitor-v3 is missing from the certificate" in result.output


def test_the_certificate_verifies_with_a_common_jose_library(tmp_path: Path) -> None:
    """KOMBIT need not run the harness to check a signature: `signature.jws` is a standard EdDSA JWS."""
    jwt = pytest.importorskip("jwt", reason="PyJWT (in the test extras) stands in for any JOSE verifier")
    certificate = _certificate()
    token = sign(certificate, harness_key())["signature"]["jws"]
    pem = public_pem(harness_key().public_key())
    payload = jwt.PyJWS().decode(token, key=pem, algorithms=["EdDSA"])
    assert json.loads(payload) == certificate
    other = public_pem(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.PyJWS().decode(token, key=other, algorithms=["EdDSA"])


def test_a_jws_that_carries_another_certificate_is_named(tmp_path: Path) -> None:
    document = sign(_certificate(), harness_key())
    document["signature"]["jws"] = jws(_certificate(verdict="CERTIFIED_WITH_DEVIATIONS"), harness_key())
    result = _verify(str(_write(tmp_path / "certificate.json", document)))
    assert result.exit_code == 1, result.output
    assert "signature.jws carries another certificate than the one shown" in result.output
    document["signature"]["jws"] = jws(_certificate(), Ed25519PrivateKey.generate())
    result = _verify(str(_write(tmp_path / "certificate.json", document)))
    assert result.exit_code == 1 and "signature.jws does not verify with the trusted key" in result.output


def test_a_certificate_signed_before_the_jws_existed_still_verifies(tmp_path: Path) -> None:
    document = sign(_certificate(), harness_key())
    del document["signature"]["jws"]
    assert _verify(str(_write(tmp_path / "certificate.json", document))).exit_code == 0
