"""One full simulated certification (prisme-2009, scenarios included) shared by every test that reads a
complete report folder: the certification tests read what it says, the security tests grep every byte
it wrote. It runs once per test session (about a minute), wherever it is first asked for."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness.certification.report import write_report
from harness.certification.run import certify_profile
from harness.certification.target import Target

# A callback token no other file in the repository names, so a grep for it finds only leaks.
CALLBACK_TOKEN = "cb-secret-7f3a91e2"


def certify_prisme_2009(folder: Path) -> Path:
    result = certify_profile(
        "prisme-2009", folder, seed=1, max_examples=5, scenarios=True, target=Target(callback_token=CALLBACK_TOKEN)
    )
    write_report(result, folder, key=Ed25519PrivateKey.generate())
    return folder
