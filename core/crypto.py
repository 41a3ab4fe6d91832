"""Sealing tip content to keys (PyNaCl sealed boxes): the sender needs only a public key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey, PublicKey, SealedBox


@dataclass(frozen=True)
class KeyPair:
    """A Curve25519 key pair as raw bytes."""

    public: bytes
    private: bytes


def generate_keypair() -> KeyPair:
    """A fresh key pair."""
    private = PrivateKey.generate()
    return KeyPair(public=bytes(private.public_key), private=bytes(private))


def seal(public_key: bytes, data: dict[str, Any]) -> bytes:
    """`data` as JSON, encrypted so that only the holder of the matching private key can read it."""
    if not public_key:
        raise ValueError("no public key configured (run `tipline init`)")
    plaintext = json.dumps(data, ensure_ascii=False).encode()
    return bytes(SealedBox(PublicKey(public_key)).encrypt(plaintext))


def unseal(private_key: bytes, sealed: bytes) -> dict[str, Any]:
    """The data `seal` encrypted; raises nacl.exceptions.CryptoError for a wrong key."""
    if not private_key:
        raise ValueError("no private key configured for this process")
    plaintext = SealedBox(PrivateKey(private_key)).decrypt(sealed)
    data = json.loads(plaintext.decode())
    if not isinstance(data, dict):
        raise ValueError("sealed content is not an object")
    return data
