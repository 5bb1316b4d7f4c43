"""The service's secrets: password hashes, API and session tokens, and the key that encrypts test systems'
credentials at rest.

Passwords are hashed with argon2id (argon2-cffi, its default parameters: memory-hard, salted); a
password is never stored, logged or shown. API and session tokens are 32 random bytes: a token that
random needs no slow hash, so only its sha256 is stored — a stolen database yields no usable token.
Credentials of a vendor's test system (its debtor token, its callback token) are Fernet-encrypted
(`cryptography`) with a key kept in the data dir (`service-secret.key`, born 0600), so a copy of the
database alone does not reveal them; they are decrypted only to hand them to a run through its
environment, never on a command line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()
SECRET_FILE = "service-secret.key"
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str = "oirs") -> str:
    """A random bearer token, shown once; its prefix says what it is when it turns up in a log."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Vault:
    """Encrypts and decrypts test systems' credentials with the service's Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def in_folder(cls, folder: Path) -> Vault:
        """The key in `folder` (made on first use, readable by its owner only from its first byte)."""
        path = folder / SECRET_FILE
        if not path.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:  # another instance made it first
                pass
            else:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, credentials: dict[str, str]) -> bytes | None:
        kept = {k: v for k, v in credentials.items() if v}
        return self._fernet.encrypt(json.dumps(kept).encode()) if kept else None

    def open(self, sealed: bytes | None) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(sealed)))
        except InvalidToken as exc:
            raise ValueError("the credentials were sealed with another service secret") from exc
