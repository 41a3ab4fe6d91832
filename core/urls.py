"""Where a redirect may go: only to a path on the same site."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: no redirect may leave the site.

    Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example") and drop tabs
    and newlines, so both are refused along with schemes and hosts.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(c == "\\" or ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
