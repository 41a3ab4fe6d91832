"""The outlet's sites allowed to embed threads and call the API from a browser.

Admins list them in the staff site (the `embed_origins` site setting), one per line. An origin
is a scheme, a host and a port, as browsers send it in the Origin header:
"https://www.example.com", "http://localhost:8080". Paths are not part of it.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from core import site_settings

# How long a process keeps the list it read before reading it again.
TTL_SECONDS = 5.0


class BadOrigin(ValueError):
    """A line of the list is not an origin; the message says why, in English."""


def normalise(value: str) -> str:
    """`value` as the Origin header spells it ("https://example.com"); BadOrigin if it is not one.

    Lower-case scheme and host; the default port of the scheme dropped; no path, query or user.
    """
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise BadOrigin(f"{text!r} must start with https:// or http://")
    if not parts.hostname:
        raise BadOrigin(f"{text!r} has no host name")
    if parts.username or parts.password:
        raise BadOrigin(f"{text!r} must not contain a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadOrigin(f"{text!r} must be only a scheme and a host, without a path")
    try:
        port = parts.port
    except ValueError:
        raise BadOrigin(f"{text!r} has an invalid port") from None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def parse(value: str) -> tuple[str, ...]:
    """Every origin of a stored list (one per line or comma-separated); bad lines skipped."""
    found: dict[str, None] = {}
    for line in value.replace(",", "\n").splitlines():
        if not line.strip():
            continue
        try:
            found[normalise(line)] = None
        except BadOrigin:
            continue
    return tuple(found)


def validate(value: str) -> tuple[tuple[str, ...], list[str]]:
    """The origins of an admin's list, and a message for each line that is not one."""
    origins: dict[str, None] = {}
    problems = []
    for line in value.replace(",", "\n").splitlines():
        if not line.strip():
            continue
        try:
            origins[normalise(line)] = None
        except BadOrigin as exc:
            problems.append(str(exc))
    return tuple(origins), problems


def origin_of(url: str) -> str | None:
    """The origin of a full URL (an article's address), or None if it has none."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return normalise(f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}")
    except (BadOrigin, ValueError):
        return None


class AllowedOrigins:
    """The allowed origins as one process last read them, read again every TTL_SECONDS."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, session: Session) -> frozenset[str]:
        """The allowed origins, from memory when read less than `ttl` seconds ago."""
        if time.monotonic() - self._read_at < self.ttl:
            return self._origins
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                self._origins = frozenset(parse(site_settings.load(session).embed_origins))
                self._read_at = time.monotonic()
        return self._origins

    def forget(self) -> None:
        """Read the list again on the next call (tests, and after saving it here)."""
        self._read_at = float("-inf")
