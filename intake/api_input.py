"""What the JSON API reads from requests: bodies, keys, ids, page sizes; 4xx with a message.

Comments and flags are validated by the same WTForms forms as the HTML pages, so a reader gets
the same messages and limits whichever way they write.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import Form

from core.text import clean_line
from intake.forms import CommentForm, FlagForm

# An article's key: the CMS's own (Article.slug).
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# A receipt's reference (intake.submissions: REF_LENGTH characters), in either case.
REF_PATTERN = re.compile(r"[A-Za-z0-9]{1,40}")
# An article's address: http(s), a host, no spaces or control characters.
URL_PATTERN = re.compile(r"https?://[^\s/\x00-\x1f\x7f][^\s\x00-\x1f\x7f]*", re.IGNORECASE)
TITLE_MAX = 300
URL_MAX = 2000
COUNT_KEYS_MAX = 100
# Ids are 32-bit columns: a larger number names nothing (and must not reach the database).
ID_MAX = 2**31 - 1


class ApiError(Exception):
    """A request the API refuses: the status, a message and per-field messages."""

    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def json_object() -> dict[str, Any]:
    """The request's JSON object; 415 unless it says JSON, 400 unless it is an object."""
    if request.mimetype != "application/json":
        raise ApiError(415, _("Send the data as JSON, with Content-Type: application/json."))
    raw = request.get_data(cache=False)  # 413 beyond MAX_CONTENT_LENGTH
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # bad syntax, bad UTF-8, absurd nesting
        raise ApiError(400, _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return data


def valid_key(value: object) -> bool:
    """Whether `value` is an article key."""
    return isinstance(value, str) and KEY_PATTERN.fullmatch(value) is not None


def valid_ref(value: str) -> bool:
    """Whether `value` can be a receipt's reference (a few ASCII letters and digits)."""
    return REF_PATTERN.fullmatch(value) is not None


def valid_id(value: object) -> bool:
    """Whether `value` can be a row id (a positive 32-bit integer, not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def bounded_int(name: str, default: int, low: int, high: int) -> int:
    """The query argument `name` as an integer in [low, high]; 400 otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(
            400,
            _("%(name)s must be a number from %(low)d to %(high)d.", name=name, low=low, high=high),
        )
    return value


def count_keys() -> list[str]:
    """The keys of a counts request: 1 to COUNT_KEYS_MAX article keys; 400 otherwise."""
    keys = request.args.getlist("key")
    if not 1 <= len(keys) <= COUNT_KEYS_MAX:
        raise ApiError(
            400, _("Ask for 1 to %(max)d articles (key=...&key=...).", max=COUNT_KEYS_MAX)
        )
    bad = [key for key in keys if not valid_key(key)]
    if bad:
        raise ApiError(400, _("Not an article key: %(key)s", key=bad[0][:200]))
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class ArticleInput:
    """A registration of an article: its key, title and canonical URL."""

    key: str
    title: str
    url: str


def article_input(data: dict[str, Any]) -> ArticleInput:
    """The article a registration names; 422 with a message per bad field."""
    fields: dict[str, list[str]] = {}
    key, title, url = data.get("key"), data.get("title"), data.get("url")
    if not valid_key(key):
        fields["key"] = [_("Give the article's key: letters, digits, '.', '_' or '-'.")]
    title = clean_line(title) if isinstance(title, str) else ""
    if not 1 <= len(title) <= TITLE_MAX:
        fields["title"] = [_("Give a title of 1 to %(max)d characters.", max=TITLE_MAX)]
    url = url.strip() if isinstance(url, str) else ""
    if len(url) > URL_MAX or not URL_PATTERN.fullmatch(url):
        fields["url"] = [_("Give the article's address (http or https).")]
    if fields:
        raise ApiError(422, _("Some fields need correcting."), fields)
    return ArticleInput(str(key), title, url)


@dataclass(frozen=True)
class CommentInput:
    """A comment to store, as the comment form validated it."""

    form: CommentForm
    parent_id: int | None
    notify_replies: bool


# JSON names of the comment form's fields (the form keeps the HTML page's names).
COMMENT_FIELDS = {"name": "author_name", "email": "email", "body": "body", "topic": "topic"}


def comment_input(data: dict[str, Any]) -> CommentInput:
    """The comment form filled from a JSON body, and the reply options; 422 on a wrong type.

    The form is validated by the caller (after the honeypot is looked at).
    """
    fields: dict[str, list[str]] = {}
    values = _text_values(data, COMMENT_FIELDS, fields)
    parent_id = data.get("parent_id")
    if parent_id is not None and not valid_id(parent_id):
        fields["parent_id"] = [_("This is not a comment you can reply to.")]
    notify = data.get("notify_replies", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        fields["notify_replies"] = [_("Use true or false.")]
    if fields:
        raise ApiError(422, _("Some fields need correcting."), fields)
    form = CommentForm(formdata=MultiDict(values), meta={"csrf": False})
    return CommentInput(form, parent_id, bool(notify))


def flag_input(data: dict[str, Any]) -> FlagForm:
    """The report form filled from a JSON body (validated by the caller); 422 on a wrong type."""
    fields: dict[str, list[str]] = {}
    values = _text_values(data, {"reason": "reason", "text": "text", "topic": "topic"}, fields)
    if fields:
        raise ApiError(422, _("Some fields need correcting."), fields)
    return FlagForm(formdata=MultiDict(values), meta={"csrf": False})


def form_errors(form: Form, names: dict[str, str]) -> dict[str, list[str]]:
    """A validated form's messages under the JSON names (`names`: JSON name -> form field)."""
    json_name = {field: name for name, field in names.items()}
    return {
        json_name.get(field, field): [str(message) for message in messages]
        for field, messages in form.errors.items()
        if isinstance(messages, list)
    }


def _text_values(
    data: dict[str, Any], names: dict[str, str], fields: dict[str, list[str]]
) -> dict[str, str]:
    # Form data from the JSON body's strings; a number or a list where text belongs is refused.
    values: dict[str, str] = {}
    for name, field in names.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            values[field] = value
        else:
            fields[name] = [_("Use text here.")]
    return values
