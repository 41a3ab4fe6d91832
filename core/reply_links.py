"""The links in a reply-notification e-mail: the thread, and one-click unsubscribe.

In core because both sides use them: the worker writes them into the e-mail, the public site
reads the unsubscribe token back (intake.notifications).
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadData, URLSafeTimedSerializer

from core.config import Settings

UNSUBSCRIBE_SALT = "reply-notices-unsubscribe"
TOKEN_MAX_AGE = 180 * 24 * 3600  # 180 days, in seconds


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    # A key of its own derived from hash_key: a token for this purpose is good for nothing else.
    key = hmac.new(settings.hash_key, b"tipline reply notices", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(settings: Settings, subscription_id: int) -> str:
    """A signed token naming the subscription, good for TOKEN_MAX_AGE."""
    return _serializer(settings).dumps({"subscription": subscription_id})


def read_unsubscribe_token(settings: Settings, token: str) -> int | None:
    """The subscription id in `token`, or None if it is forged, damaged or expired."""
    try:
        data = _serializer(settings).loads(token, max_age=TOKEN_MAX_AGE)
    except BadData:
        return None
    found = data.get("subscription") if isinstance(data, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def unsubscribe_url(settings: Settings, subscription_id: int) -> str:
    """The public site's one-click unsubscribe address for the subscription."""
    token = unsubscribe_token(settings, subscription_id)
    return f"{settings.intake_url.rstrip('/')}/notifications/unsubscribe/{token}"


def thread_url(settings: Settings, slug: str, comment_id: int) -> str:
    """The public thread page, at the comment."""
    return f"{settings.intake_url.rstrip('/')}/articles/{slug}#comment-{comment_id}"
