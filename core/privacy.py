"""Keyed hashes that stand in for addresses we must not store."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """An HMAC-SHA256 of `value`, separated by `purpose` so one hash never matches another kind."""
    if not key:
        raise ValueError("no hash key configured (run `tipline init`)")
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def network_of(address: str) -> str:
    """The unit we rate-limit and ban: an IPv4 address itself, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def ip_hash(key: bytes, address: str | None) -> str:
    """The keyed hash of a client's network; the raw address is never kept."""
    return keyed_hash(key, "ip", network_of(address or ""))


def email_hash(key: bytes, email: str) -> str:
    """The keyed hash of an e-mail address, case-folded, for reputation and bans."""
    return keyed_hash(key, "email", email.strip().casefold())
