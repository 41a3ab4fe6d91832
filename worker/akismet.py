"""A small Akismet client (https://akismet.com/developers/): comment-check, submit-spam, -ham.

Only comments are ever sent, never tips. Each call waits at most settings.akismet_timeout_seconds
for each step (connecting, then the answer), and turns whatever goes wrong into an AkismetError
whose message names the failure but never the comment, its author or the sender's address:
callers log it as it is.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from nacl.exceptions import CryptoError

from core.config import Settings
from core.crypto import unseal

log = logging.getLogger(__name__)

# A comment-check waits this long at most, whatever the setting: comments are checked one after
# another, and a slow answer holds back every comment behind it in the batch.
MAX_TIMEOUT = 10.0
# Akismet's answers are a word or a sentence; anything longer is not an answer.
MAX_ANSWER_BYTES = 4096
SUBMITTED = "Thanks for making the web a better place."
USER_AGENT = "Tipline/0.1 | Akismet-client/1"


class AkismetError(Exception):
    """Akismet could not be asked, or did not answer as documented.

    `code` is a short label for a moderator ("timeout", "HTTP 503", "invalid key"); the message
    adds what Akismet said about it (its X-akismet-debug-help or X-akismet-error header).
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class AkismetUnavailable(AkismetError):
    """Akismet could not be reached, did not answer in time, or failed (HTTP 5xx)."""


class AkismetRefused(AkismetError):
    """Akismet answered, but refused the call: an invalid key or invalid parameters."""


@dataclass(frozen=True)
class Comment:
    """What Akismet is told about one comment; the same for the check and for the feedback."""

    content: str
    author: str
    # The sender's details as the public site sealed them (see intake.submissions).
    user_ip: str
    user_agent: str = ""
    referrer: str = ""
    permalink: str = ""
    lang: str = ""
    received_at: datetime | None = None

    @classmethod
    def of(
        cls,
        sender: Mapping[str, str],
        *,
        content: str,
        author: str,
        lang: str,
        received_at: datetime | None,
    ) -> Comment:
        """The comment with the sender's details opened from its sender copy."""
        return cls(
            content=content,
            author=author,
            user_ip=sender.get("user_ip", ""),
            user_agent=sender.get("user_agent", ""),
            referrer=sender.get("referrer", ""),
            permalink=sender.get("permalink", ""),
            lang=lang,
            received_at=received_at,
        )


@dataclass(frozen=True)
class Answer:
    """Akismet's answer to a comment-check."""

    spam: bool
    # "X-akismet-pro-tip: discard": blatant spam, which Akismet says need not even be reviewed.
    discard: bool = False


class Akismet:
    """The calls Tipline makes, for one key and one site."""

    def __init__(self, key: str, blog: str, url: str, timeout: float) -> None:
        self.key = key
        self.blog = blog
        self.url = url.rstrip("/")
        self.timeout = min(timeout, MAX_TIMEOUT)

    @classmethod
    def from_settings(cls, settings: Settings) -> Akismet:
        """The client for settings.akismet_key, on behalf of the public site (intake_url)."""
        return cls(
            settings.akismet_key,
            settings.intake_url,
            settings.akismet_url,
            settings.akismet_timeout_seconds,
        )

    def comment_check(self, comment: Comment) -> Answer:
        """Whether Akismet takes `comment` for spam, and for blatant spam."""
        body, headers = self._post("comment-check", comment)
        if body == "true":
            return Answer(spam=True, discard=headers.get("X-akismet-pro-tip") == "discard")
        if body == "false":
            return Answer(spam=False)
        raise _refusal(body, headers)

    def submit_spam(self, comment: Comment) -> None:
        """Report a comment Akismet let through that a person found to be spam."""
        self._submit("submit-spam", comment)

    def submit_ham(self, comment: Comment) -> None:
        """Report a comment Akismet took for spam that a person found to be fine."""
        self._submit("submit-ham", comment)

    def _submit(self, call: str, comment: Comment) -> None:
        body, headers = self._post(call, comment)
        if body != SUBMITTED:
            raise _refusal(body, headers)

    def params(self, comment: Comment) -> dict[str, str]:
        """The form Akismet is sent for `comment` (its documented parameter names)."""
        params = {
            "api_key": self.key,
            "blog": self.blog,
            "user_ip": comment.user_ip,
            "user_agent": comment.user_agent,
            "referrer": comment.referrer,
            "permalink": comment.permalink,
            "comment_type": "comment",
            "comment_author": comment.author,
            "comment_content": comment.content,
            "blog_lang": comment.lang,
            "blog_charset": "UTF-8",
        }
        if comment.received_at is not None:
            # The same moment for the check and the feedback, so Akismet can match them.
            received = comment.received_at.replace(tzinfo=comment.received_at.tzinfo or UTC)
            params["comment_date_gmt"] = received.astimezone(UTC).isoformat(timespec="seconds")
        return {name: value for name, value in params.items() if value}

    def _post(self, call: str, comment: Comment) -> tuple[str, http.client.HTTPMessage]:
        data = urllib.parse.urlencode(self.params(comment)).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the configured Akismet's)
            f"{self.url}/{call}",
            data=data,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "User-Agent": USER_AGENT,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_ANSWER_BYTES + 1)
                headers = response.headers
        except urllib.error.HTTPError as exc:
            exc.close()
            error = AkismetUnavailable if exc.code >= 500 else AkismetRefused
            raise error(f"HTTP {exc.code}", _detail(exc.headers)) from None
        except TimeoutError:
            raise AkismetUnavailable("timeout", f"no answer within {self.timeout}s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise AkismetUnavailable("timeout", f"no answer within {self.timeout}s") from None
            raise AkismetUnavailable("unreachable", _reason(exc.reason)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise AkismetUnavailable("unreachable", type(exc).__name__) from None
        alert = headers.get("X-akismet-alert-msg")
        if alert:
            # About the account (a lapsed subscription, say), never about the comment.
            log.warning("Akismet alert %s: %s", headers.get("X-akismet-alert-code", ""), alert)
        if len(body) > MAX_ANSWER_BYTES:
            raise AkismetRefused("unexpected answer", f"more than {MAX_ANSWER_BYTES} bytes")
        return body.decode("utf-8", errors="replace").strip(), headers


def open_sender_copy(
    settings: Settings, submission_id: int, sealed: bytes | None
) -> dict[str, str] | None:
    """A comment's sender copy opened (see Comment); None if there is none or it is unreadable."""
    if sealed is None:
        return None
    try:
        data = unseal(settings.worker_private_key, sealed)
    except (CryptoError, ValueError) as exc:
        # Akismet is then not asked about it; the other checks judge it as usual.
        log.warning(
            "comment %d: its sender copy cannot be opened (%s)", submission_id, type(exc).__name__
        )
        return None
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _refusal(body: str, headers: http.client.HTTPMessage) -> AkismetError:
    detail = _detail(headers)
    if body == "invalid" and "key" in detail.lower():
        return AkismetRefused("invalid key", detail)
    if body == "invalid":
        return AkismetRefused("invalid call", detail)
    return AkismetRefused("unexpected answer", detail or body[:80])


def _detail(headers: Message | None) -> str:
    if headers is None:
        return ""
    return headers.get("X-akismet-debug-help") or headers.get("X-akismet-error") or ""


def _reason(reason: object) -> str:
    # URLError's reason is an OSError or a string; neither holds the form we sent.
    if isinstance(reason, OSError):
        return reason.strerror or type(reason).__name__
    return str(reason)
