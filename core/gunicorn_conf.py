"""gunicorn's settings for both sites: `gunicorn --config=python:core.gunicorn_conf ...`.

Sources write to the public site from places where being identified is dangerous, so the web
server must not write down who they are either:

- no access log (gunicorn keeps none unless told to); and should someone turn one on (with
  `--access-logfile` or GUNICORN_CMD_ARGS), its lines carry no client address, user agent,
  referrer, query string or request header: only time, method, path, status and size;
- the error log says "Invalid request from ip=..." for a malformed request: client addresses
  are removed from every error-log line (the addresses the server listens on are kept).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from gunicorn import glogging  # type: ignore[import-untyped]

# An access line, if an access log is turned on: nothing that identifies the client.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
accesslog = None
logger_class = "core.gunicorn_conf.PrivateLogger"

# The only atoms an access line may use (see gunicorn's glogging.Logger.atoms): never h (the
# address), a (user agent), f (referrer), r or q (the query string), u (a user name), nor any
# {header}i / {variable}e.
SAFE_ATOMS = frozenset({"t", "m", "U", "H", "s", "B", "b", "T", "D", "L", "M", "p"})
HIDDEN = "(address hidden)"
_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*")


def scrub_addresses(text: str) -> str:
    """`text` with every IPv4 and IPv6 address in it replaced."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        for candidate in (token, token.rstrip("."), token.strip(".:")):
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                continue
            return token.replace(candidate, HIDDEN)
        return token

    return _CANDIDATE.sub(replace, text)


class _ScrubAddresses(logging.Filter):
    """Removes client addresses from gunicorn's error-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # Where the server listens is configuration, not a client: operators need to see it.
        if not message.startswith("Listening at"):
            record.msg, record.args = scrub_addresses(message), None
        return True


class PrivateLogger(glogging.Logger):
    """gunicorn's logger, without clients' addresses, agents or referrers anywhere."""

    def setup(self, cfg: Any) -> None:
        """Set up the logs as gunicorn does, then filter the error log."""
        super().setup(cfg)
        self.error_log.addFilter(_ScrubAddresses())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """The access line's values, only those that say nothing about the client."""
        everything: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: value for key, value in everything.items() if key in SAFE_ATOMS}
