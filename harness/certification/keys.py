"""The Ed25519 key that signs certificates, and the public keys a verifier trusts.

By default the harness signs with its own key, generated once and kept in the per-user folder
`$OIR_HOME` (default `~/.config/oir/`, created 0700) as `signing-key.pem`. The file is born with mode
0600 (one `os.open` with O_EXCL, so it never exists with wider permissions, whatever the umask) and
appears under its name only when complete. CI passes its own key with `--signing-key` or
`OIR_SIGNING_KEY`, either a PEM file's path or the PEM text itself (as a secret).

Like ssh, the harness refuses a private key file that its group or others may read or write: whoever
could read it could sign certificates. A verifier trusts a given public key, or by default the public
half of that same per-user key, read from its public key file (`signing-key.pub.pem`), never from the
private key file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import uuid
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import SigningKeyError

KEY_FILE = "signing-key.pem"
PUBLIC_KEY_FILE = "signing-key.pub.pem"


def oir_home() -> Path:
    """The per-user folder of the harness: `$OIR_HOME`, else `~/.config/oir`."""
    return Path(os.environ.get("OIR_HOME") or Path.home() / ".config" / "oir")


def _pem_bytes(source: str) -> bytes:
    """PEM text given directly (a CI secret) or the path of a PEM file."""
    if source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    try:
        return Path(source).expanduser().read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read key file {source}: {exc.strerror or exc}") from exc


def _check_private(source: str) -> None:
    """Refuse a private key file that group or others may access (as ssh does); PEM text has no mode."""
    if os.name != "posix" or source.lstrip().startswith("-----BEGIN"):
        return
    path = Path(source).expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it says why, in one place
    if mode & 0o077:
        raise SigningKeyError(
            f"the private key file {path} has permissions {mode:04o}: group or others can read it, "
            f"so anyone with that access could sign certificates. Refusing to use it; "
            f"run `chmod 600 {path}` (and replace the key if others may have read it)"
        )


def load_private_key(source: str) -> Ed25519PrivateKey:
    _check_private(source)
    try:
        key = serialization.load_pem_private_key(_pem_bytes(source), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{_label(source)} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{_label(source)} is a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_pem_bytes(source))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{_label(source)} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{_label(source)} is a {type(key).__name__}, not an Ed25519 public key")
    return key


def _label(source: str) -> str:
    return "the PEM text" if source.lstrip().startswith("-----BEGIN") else source


def harness_key(home: Path | None = None) -> Ed25519PrivateKey:
    """The harness's own signing key, generated on first use (a concurrent first use keeps one key)."""
    folder = home or oir_home()
    path = folder / KEY_FILE
    if path.exists():
        return load_private_key(str(path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _publish_private(folder, path, pem):
            return load_private_key(str(path))  # another process made the key first: use that one
        (folder / PUBLIC_KEY_FILE).write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise SigningKeyError(f"cannot keep the harness signing key in {folder}: {exc.strerror or exc}") from exc
    return key


def _publish_private(folder: Path, path: Path, pem: bytes) -> bool:
    """Write `pem` to `path`, readable by its owner only from the first byte; False if `path` exists.

    The bytes go to a private temporary file (created 0600 by one `os.open`, umask or not), which is
    then linked to its name: no reader ever sees a half-written key, and a key already there stays.
    """
    temporary = folder / f".{KEY_FILE}.{uuid.uuid4().hex}.tmp"
    descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def signing_key(source: str | None) -> Ed25519PrivateKey:
    return load_private_key(source) if source else harness_key()


def trusted_key(source: str | None) -> Ed25519PublicKey:
    """The given public key, or the harness's own (never the one a certificate carries)."""
    return trusted_key_and_origin(source)[0]


def trusted_key_and_origin(source: str | None) -> tuple[Ed25519PublicKey, str]:
    """The trusted public key and where it came from, to say so. Without `source`, the harness's own
    public key file beside its private key: verifying never reads (or needs read access to) a private key."""
    if source:
        return load_public_key(source), f"the given public key ({_label(source)})"
    path = oir_home() / PUBLIC_KEY_FILE
    if not path.exists():
        raise SigningKeyError(
            f"no harness public key {path} to trust: pass --public-key PEM (or OIR_PUBLIC_KEY) with the key of "
            "whoever signed, or set OIR_HOME to the harness folder that holds it"
        )
    return load_public_key(str(path)), f"this harness's own public key {path}"


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_raw(key)).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of the sha256 of its raw bytes."""
    return "ed25519:" + hashlib.sha256(public_raw(key)).hexdigest()[:16]
