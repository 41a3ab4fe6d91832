"""The embeddable thread's assets: its script, its stylesheet and its words in each language.

An outlet puts `<script src="{public}/embed.js" data-article="KEY" async>` on its article pages;
the script reads everything else from the JSON API (intake/api.py). The three files here are the
same for every reader and every outlet, hold nothing private, and are served to any origin.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_from_directory
from flask_babel import force_locale, get_translations
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from core.enums import FlagReason
from core.flags import REASON_LABELS
from core.i18n import select_locale
from intake import api_access

bp = Blueprint("embed", __name__)

STATIC = Path(__file__).resolve().parent / "static" / "embed"
# Long enough to spare the outlet's readers a request per page, short enough that a fix or a
# new translation reaches every page within minutes.
MAX_AGE = 300

# Every word the embed shows, by the id embed.js looks it up with (catalog() adds the plural
# "count").
MESSAGES = {
    "loading": _l("Loading comments…"),
    "region": _l("Comments"),
    "order_label": _l("Order"),
    "order_newest": _l("Newest first"),
    "order_oldest": _l("Oldest first"),
    "order_replies": _l("Most replies"),
    "featured": _l("Featured"),
    "featured_heading": _l("Featured comments"),
    "empty": _l("No comments yet. Be the first to comment."),
    "comment_removed": _l("This comment was removed by a moderator."),
    "reply_removed": _l("This reply was removed by a moderator."),
    "load_more": _l("Load more comments"),
    "more_replies": _l("More replies"),
    "reply": _l("Reply"),
    "report": _l("Report"),
    "cancel": _l("Cancel"),
    "form_heading": _l("Add your comment"),
    "reply_heading": _l("Your reply to %(name)s"),
    "name": _l("Display name"),
    "email": _l("E-mail (optional)"),
    "email_hint": _l(
        "Optional. Never shown, and not stored: we keep only a scrambled fingerprint of it to "
        "recognise repeat senders."
    ),
    "email_notify_hint": _l(
        "If you tick “Email me when someone replies”, we keep it encrypted, use it only for "
        "those e-mails, and each one has a link to stop them."
    ),
    "notify": _l("Email me when someone replies"),
    "body": _l("Your comment"),
    "reply_body": _l("Your reply"),
    "honeypot": _l("Leave this field empty"),
    "send": _l("Send comment"),
    "send_reply": _l("Send reply"),
    "sending": _l("Sending…"),
    "error_summary": _l("There is a problem"),
    "error_prefix": _l("Error:"),
    "awaiting_review": _l("Your comment awaits review by a moderator."),
    "checking": _l("Thank you: your comment is being checked. It will appear here in a moment."),
    "published": _l("Thank you: your comment is published."),
    "checking_later": _l("Thank you: your comment will appear once it has been checked."),
    "closed": _l("Comments are closed."),
    "premoderated": _l("Comments on this article are reviewed by a moderator before they appear."),
    "report_heading": _l("Why are you reporting this comment?"),
    "report_text": _l("Anything to add? (optional)"),
    "report_send": _l("Send report"),
    "report_choose": _l("Choose why you are reporting this comment."),
    "report_thanks": _l("A moderator will look at the comment and decide whether it stays up."),
    "report_again": _l("You had already reported this comment. Each reader’s report counts once."),
    "reason_spam": REASON_LABELS[FlagReason.spam],
    "reason_abuse": REASON_LABELS[FlagReason.abuse],
    "reason_off_topic": REASON_LABELS[FlagReason.off_topic],
    "reason_other": REASON_LABELS[FlagReason.other],
    "error_load": _l("The comments could not be loaded. Check your connection and try again."),
    "error_send": _l("This could not be sent. Check your connection and try again."),
    "error_forbidden": _l("This site is not allowed to embed comments."),
    "error_rate": _l("You have sent too much in a short time. Please wait a moment and try again."),
    "error_gone": _l("This comment can no longer be answered or reported."),
    "error_other": _l("Something went wrong on our side. Please try again later."),
    "retry": _l("Try again"),
}


def catalog() -> dict[str, str | dict[str, str]]:
    """Every message of the embed in the request's current locale.

    A plural is given by its CLDR categories ("one", "other"), which the script picks with
    Intl.PluralRules; both our languages have just these two. "{n}" stands for the number.
    """
    words: dict[str, str | dict[str, str]] = {key: str(text) for key, text in MESSAGES.items()}
    # The catalog's own templates, unformatted: the number is put in by the script.
    translations = get_translations()
    words["count"] = {
        form: translations.ngettext("%(num)d comment", "%(num)d comments", n).replace(
            "%(num)d", "{n}"
        )
        for form, n in (("one", 1), ("other", 2))
    }
    return words


def _locale() -> str:
    """The asked-for language if we have it, else the reader's (core.i18n.select_locale)."""
    asked = (request.args.get("locale") or "").split("-")[0].lower()
    locales: tuple[str, ...] = current_app.config["TIPLINE_LOCALES"]
    return asked if asked in locales else select_locale()


def embedding_allowed() -> bool:
    """Whether the requesting page's origin may use the API (no Origin: our own pages).

    A refused origin gets no CORS headers from the API, so its script cannot read the 403 and
    sees only a failed request; this answer lets the embed tell the reader why.
    """
    origin = api_access.request_origin()
    if origin is None or api_access.ORIGINS_EXTENSION not in current_app.extensions:
        return True
    return origin in api_access.allowed_origins()


def _public(response: Response) -> Response:
    """The headers of a public asset: cacheable by anyone for a while, readable by any origin."""
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/embed.js")
def script() -> Response:
    """The embed's script."""
    response = send_from_directory(STATIC, "embed.js", mimetype="text/javascript", max_age=MAX_AGE)
    return _public(response)


@bp.get("/embed.css")
def stylesheet() -> Response:
    """The embed's stylesheet, loaded into its shadow root."""
    response = send_from_directory(STATIC, "embed.css", mimetype="text/css", max_age=MAX_AGE)
    return _public(response)


@bp.get("/embed/messages.json")
def messages() -> Response:
    """The embed's words in `?locale=` (es, en), or the reader's language."""
    locale = _locale()
    with force_locale(locale):
        body = {"locale": locale, "messages": catalog(), "embedding_allowed": embedding_allowed()}
    response = jsonify(body)
    response.vary.add("Origin")
    if "locale" not in request.args:
        response.vary.add("Accept-Language")
    return _public(response)
