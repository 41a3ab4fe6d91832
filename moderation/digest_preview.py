"""The staff member's own digest for the last 24 hours, shown as it would be sent by e-mail."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from markupsafe import Markup

# The module, not its names: core.digest imports moderation.stats, which loads this package,
# so a worker importing core.digest first reaches this line before core.digest is complete.
from core import digest as digests
from core.app import CONTENT_SECURITY_POLICY, current_settings
from core.db import db, utcnow
from moderation.access import current_staff

bp = Blueprint("digest_preview", __name__)

PREVIEW_HOURS = 24
# The e-mail's HTML carries its styles in style attributes (mail clients drop <style> blocks),
# which the site-wide policy blocks. This page allows style *attributes* only: <style> elements
# and scripts stay blocked, and everything the digest quotes (labels, titles) is escaped, so no
# one but our template can write an attribute.
PREVIEW_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self';", "style-src 'self'; style-src-attr 'unsafe-inline';"
)


@bp.get("/account/digest")
def preview() -> ResponseReturnValue:
    """The logged-in staff member's digest for the last 24 hours: HTML part and text part."""
    settings = current_settings()
    end = utcnow()
    digest = digests.build_digest(
        db.session,
        current_staff(),
        end - timedelta(hours=PREVIEW_HOURS),
        end,
        moderation_url=settings.moderation_url,
        site_name=settings.site_name,
    )
    locale = str(get_locale() or settings.default_locale)
    rendered = digests.render_digest(digest, locale)
    page = render_template(
        "digest_preview.html",
        digest=digest,
        rendered=rendered,
        # Rendered by the e-mail's own autoescaping environment (core.digest).
        body=Markup(digests.render_digest_body(digest, locale)),  # noqa: S704
        hours=PREVIEW_HOURS,
    )
    return page, 200, {"Content-Security-Policy": PREVIEW_POLICY}
