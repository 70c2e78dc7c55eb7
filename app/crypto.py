"""Encryption of secrets at rest and signed tokens, keyed from the process secret (never the database)."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "decrypt", "encrypt"]


@cache
def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, purpose: str, plaintext: str) -> str:
    return _fernet(secret_key, purpose).encrypt(plaintext.encode()).decode()


def decrypt(secret_key: str, purpose: str, token: str) -> str:
    """Raises ``InvalidToken`` when the key changed or the value was tampered with."""
    return _fernet(secret_key, purpose).decrypt(token.encode()).decode()
