"""Signing the outlet's webhooks, and checking a signature the way a receiver should.

A delivery carries `Tipline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC of
`f"{t}."` followed by the exact body bytes, keyed with the endpoint's secret. The timestamp is
inside the signed bytes, so a receiver that rejects old timestamps also rejects a captured
delivery replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Tipline-Signature"
EVENT_HEADER = "Tipline-Event"
DELIVERY_HEADER = "Tipline-Delivery"
# A signature older (or newer: clocks drift) than this many seconds is refused.
TOLERANCE_SECONDS = 300


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The Tipline-Signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={int(timestamp)},v1={_digest(secret, int(timestamp), body)}"


def _parse(header: str) -> tuple[int, list[str]] | None:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(
    secret: str | bytes,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs `body` with `secret`, at a time within `tolerance` of `now`."""
    parsed = _parse(header or "")
    if parsed is None:
        return False
    timestamp, signatures = parsed
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    # Constant-time comparison: the time taken says nothing about how much of a guess matched.
    # Several v1 values are accepted so that a secret can be rotated without a gap.
    return any(hmac.compare_digest(expected.encode(), sig.encode()) for sig in signatures)
