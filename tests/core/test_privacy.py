"""Keyed hashes of addresses, and sealed tip content."""

from __future__ import annotations

import pytest
from nacl.exceptions import CryptoError

from core.crypto import generate_keypair, seal, unseal
from core.privacy import email_hash, ip_hash, network_of

KEY = b"k" * 32


def test_ip_hash_never_contains_the_address_and_depends_on_the_key() -> None:
    hashed = ip_hash(KEY, "203.0.113.7")
    assert "203.0.113.7" not in hashed and len(hashed) == 64
    assert hashed != ip_hash(b"x" * 32, "203.0.113.7")
    assert hashed != ip_hash(KEY, "203.0.113.8")


def test_ipv6_addresses_in_one_64_share_a_hash() -> None:
    assert network_of("2001:db8:1:2::1") == network_of("2001:db8:1:2:ffff::9")
    assert ip_hash(KEY, "2001:db8:1:2::1") == ip_hash(KEY, "2001:db8:1:2:aaaa::1")
    assert ip_hash(KEY, "::ffff:203.0.113.7") == ip_hash(KEY, "203.0.113.7")


def test_email_hash_ignores_case_and_spaces() -> None:
    assert email_hash(KEY, " Ana@Example.org ") == email_hash(KEY, "ana@example.org")


def test_sealed_content_opens_only_with_the_private_key() -> None:
    pair, other = generate_keypair(), generate_keypair()
    sealed = seal(pair.public, {"text": "El director desvía fondos"})
    assert b"director" not in sealed
    assert unseal(pair.private, sealed) == {"text": "El director desvía fondos"}
    with pytest.raises(CryptoError):
        unseal(other.private, sealed)
