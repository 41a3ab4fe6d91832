"""The word and domain lists admins manage: the page, and the rules `tipline lists` shares.

Four lists (core.enums.ListName): banned words (spam), suspect words (held), blocked domains
(spam for comments, held for tips) and allowed domains (links never counted). Settings add
built-in entries (settings.blocked_words, settings.allowed_domains and the outlet's own host)
that are shown here but changed only in the configuration. Every addition and removal writes
an audit row. The worker reads the lists again within settings.knowledge_ttl_seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from wtforms import TextAreaField
from wtforms.validators import Length

from core.app import current_settings
from core.config import Settings
from core.db import db
from core.enums import Kind, ListName, Role
from core.i18n import N_
from core.models import AuditEvent, ListEntry, StaffUser
from moderation.access import current_staff, ensure_role
from worker.checks.base import Content, Env, Lists, Result, builtin
from worker.checks.links import LinksCheck, link_hosts, listed, shorteners
from worker.checks.words import BlockedWordsCheck
from worker.normalize import normalise, term_index, term_words

bp = Blueprint("lists", __name__, url_prefix="/lists")

# ListEntry.value's column size.
VALUE_MAX = 200
# How many terms one form or command adds at most.
ADD_MAX = 500
# The audit log's actor for changes made with `tipline lists`.
CLI_ACTOR = "cli"
WORD_LISTS = frozenset({ListName.banned_words, ListName.suspect_words})
_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
    r"|(?:\d{1,3}\.){3}\d{1,3}"
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")

LABELS = {
    ListName.banned_words: _l("Banned words"),
    ListName.suspect_words: _l("Suspect words"),
    ListName.blocked_domains: _l("Blocked domains"),
    ListName.allowed_domains: _l("Allowed domains"),
}
DESCRIPTIONS = {
    ListName.banned_words: _l(
        "A comment or tip with one of these words or phrases, in its text or the sender's "
        "name, is spam."
    ),
    ListName.suspect_words: _l(
        "A comment or tip with one of these words or phrases waits for a moderator."
    ),
    ListName.blocked_domains: _l(
        "A comment with a link to one of these domains, or to a subdomain of one, is spam; "
        "a tip waits for an editor (a source may send such a link as evidence)."
    ),
    ListName.allowed_domains: _l(
        "Links to these domains and their subdomains never count against a submission."
    ),
}


@dataclass(frozen=True)
class Problem:
    """Why a value cannot be added or removed: a message id and its parameters."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        """The message as the command line shows it."""
        return self.message % self.params

    def translated(self) -> str:
        """The message in the staff member's language."""
        return _(self.message, **self.params)


class ListError(Exception):
    """Some values were refused; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.english() for p in problems))
        self.problems = problems


def _shown(value: str) -> str:
    # A value as a message quotes it: a long one cut short.
    return value if len(value) <= 60 else value[:59] + "…"


def normalise_value(name: ListName, raw: str) -> str:
    """The value as stored: a term with its spaces tidied, a domain lower-cased and bare.

    A domain may be typed as a link ("https://www.example.com/page"): the host is kept,
    without "www.". Raises ListError when the value could never match.
    """
    if name in WORD_LISTS:
        value = " ".join(raw.split())
        if len(value) > VALUE_MAX:
            raise ListError(
                [Problem(N_("“%(value)s” is longer than %(max)d characters."), _long(value))]
            )
        if not term_words(value):
            raise ListError(
                [
                    Problem(
                        N_("“%(value)s” has no letters or digits, so it would never match."),
                        {"value": _shown(value)},
                    )
                ]
            )
        return value
    value = _SCHEME.sub("", raw.strip().lower())
    for stop in "/?#":
        value = value.split(stop, 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".").removeprefix("www.")
    if len(value) > VALUE_MAX:
        raise ListError(
            [Problem(N_("“%(value)s” is longer than %(max)d characters."), _long(value))]
        )
    try:
        value = value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        value = ""
    if not _DOMAIN.fullmatch(value):
        raise ListError(
            [
                Problem(
                    N_("“%(value)s” is not a domain name (for example: example.com)."),
                    {"value": _shown(raw.strip())},
                )
            ]
        )
    return value


def _long(value: str) -> dict[str, Any]:
    return {"value": _shown(value), "max": VALUE_MAX}


def match_key(name: ListName, value: str) -> str:
    """What makes two values the same entry: "Viagra" and "viagra" match the same words."""
    if name in WORD_LISTS:
        return " ".join(term_words(value))
    return value.lower()


def entries(session: Session) -> dict[ListName, list[ListEntry]]:
    """Every managed entry, by list, oldest first, with who added it."""
    found: dict[ListName, list[ListEntry]] = {name: [] for name in ListName}
    rows = session.scalars(
        select(ListEntry).options(joinedload(ListEntry.created_by)).order_by(ListEntry.id)
    )
    for entry in rows:
        found[entry.list].append(entry)
    return found


def current_lists(session: Session, settings: Settings) -> Lists:
    """The lists as the worker reads them: the managed entries and the built-in ones."""
    managed = {name: [e.value for e in found] for name, found in entries(session).items()}
    return Lists.build(settings, managed)


def _audit(
    session: Session, actor: StaffUser | None, action: str, name: ListName, value: str
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else CLI_ACTOR,
            action=action,
            reason=f"{name.value}: {value}",
        )
    )


def add_values(
    session: Session,
    settings: Settings,
    name: ListName,
    raws: Iterable[str],
    actor: StaffUser | None,
) -> list[ListEntry]:
    """Add each value (blank ones skipped) with an audit row; the caller commits.

    All or nothing: if any value is refused, ListError names every problem and nothing is
    added. A value given twice is added once.
    """
    values = [raw for raw in raws if raw.strip()]
    if not values:
        raise ListError([Problem(N_("Enter at least one term, one per line."))])
    if len(values) > ADD_MAX:
        raise ListError(
            [Problem(N_("At most %(max)d terms can be added at once."), {"max": ADD_MAX})]
        )
    existing = {match_key(name, e.value) for e in entries(session)[name]}
    built_in = {match_key(name, v) for v in builtin(settings, name)}
    problems: list[Problem] = []
    accepted: dict[str, str] = {}
    for raw in values:
        try:
            value = normalise_value(name, raw)
        except ListError as error:
            problems.extend(error.problems)
            continue
        key = match_key(name, value)
        if key in built_in:
            problems.append(
                Problem(
                    N_("“%(value)s” is already on the list: it is built in."),
                    {"value": _shown(value)},
                )
            )
        elif key in existing:
            problems.append(
                Problem(N_("“%(value)s” is already on the list."), {"value": _shown(value)})
            )
        else:
            accepted.setdefault(key, value)
    if problems:
        raise ListError(problems)
    added = []
    for value in accepted.values():
        entry = ListEntry(list=name, value=value, created_by_id=actor.id if actor else None)
        session.add(entry)
        _audit(session, actor, "list_add", name, value)
        added.append(entry)
    return added


def remove_entry(session: Session, entry: ListEntry, actor: StaffUser | None) -> None:
    """Remove one entry with an audit row; the caller commits."""
    session.delete(entry)
    _audit(session, actor, "list_remove", entry.list, entry.value)


def remove_values(
    session: Session,
    settings: Settings,
    name: ListName,
    raws: Iterable[str],
    actor: StaffUser | None,
) -> list[str]:
    """Remove the entries matching each value; the values removed. The caller commits.

    All or nothing: a value that is not on the list (or only built in) raises ListError.
    """
    by_key = {match_key(name, e.value): e for e in entries(session)[name]}
    built_in = {match_key(name, v) for v in builtin(settings, name)}
    problems: list[Problem] = []
    chosen: dict[int, ListEntry] = {}
    for raw in raws:
        try:
            key = match_key(name, normalise_value(name, raw))
        except ListError as error:
            problems.extend(error.problems)
            continue
        if key in by_key:
            chosen[by_key[key].id] = by_key[key]
        elif key in built_in:
            problems.append(
                Problem(
                    N_("“%(value)s” is built in: change the settings to remove it."),
                    {"value": _shown(raw.strip())},
                )
            )
        else:
            problems.append(
                Problem(N_("“%(value)s” is not on the list."), {"value": _shown(raw.strip())})
            )
    if problems:
        raise ListError(problems)
    for entry in chosen.values():
        remove_entry(session, entry, actor)
    return [entry.value for entry in chosen.values()]


# --- the page ------------------------------------------------------------------------------


class AddForm(FlaskForm):
    """Terms or domains to add to one list, one per line."""

    terms = TextAreaField(validators=[Length(max=ADD_MAX * (VALUE_MAX + 2))])


class RemoveForm(FlaskForm):
    """Only the CSRF token: which entry is in the URL."""


class TryForm(FlaskForm):
    """A text to run against the lists, to see what would match and why."""

    text = TextAreaField(_l("Text to try"), validators=[Length(max=20000)])


@dataclass(frozen=True)
class Trial:
    """What the lists make of a text an admin pasted."""

    folded: str
    unmasked: str
    matches: dict[ListName, list[str]]
    links: list[tuple[str, str, str | None]]
    words: Result
    comment_links: Result
    tip_links: Result


def try_text(lists: Lists, settings: Settings, text: str) -> Trial:
    """The normalised forms of `text`, the terms and links it matches, and the checks' verdicts."""
    normalised = normalise(text)
    matches = {
        ListName.banned_words: term_index(lists.banned_words).find_all(normalised),
        ListName.suspect_words: term_index(lists.suspect_words).find_all(normalised),
    }
    short = shorteners(settings.url_shorteners)
    links: list[tuple[str, str, str | None]] = []
    for host in link_hosts(text, (short, lists.blocked_domains)):
        blocked = listed(host, lists.blocked_domains)
        allowed = listed(host, lists.allowed_domains)
        shortener = listed(host, short)
        if blocked:
            links.append((host, "blocked", blocked))
        elif allowed:
            links.append((host, "allowed", allowed))
        elif shortener:
            links.append((host, "shortener", shortener))
        else:
            links.append((host, "counted", None))
    env = Env.of(settings, lists=lists)
    return Trial(
        folded=normalised.folded,
        unmasked=normalised.unmasked,
        matches=matches,
        links=links,
        words=BlockedWordsCheck().run(Content(kind=Kind.comment, text=text), env),
        comment_links=LinksCheck().run(Content(kind=Kind.comment, text=text), env),
        tip_links=LinksCheck().run(Content(kind=Kind.tip, text=text), env),
    )


@bp.before_request
def admins_only() -> None:
    """Every list route, present and future, is for admins."""
    ensure_role(Role.admin)


def _add_forms(posted: ListName | None = None) -> dict[ListName, AddForm]:
    # One form per list, each with its own prefix so that field ids stay unique on the page;
    # only the posted one reads the request.
    return {
        name: AddForm(prefix=name.value)
        if name is posted
        else AddForm(prefix=name.value, formdata=None)
        for name in ListName
    }


def render_lists(
    forms: dict[ListName, AddForm] | None = None,
    try_form: TryForm | None = None,
    trial: Trial | None = None,
    code: int = 200,
) -> ResponseReturnValue:
    """The page: each list with its entries, built-in entries and add form; the "try it" box."""
    settings = current_settings()
    body = render_template(
        "lists.html",
        lists=list(ListName),
        labels=LABELS,
        descriptions=DESCRIPTIONS,
        entries=entries(db.session),
        builtin={name: builtin(settings, name) for name in ListName},
        shorteners=settings.url_shorteners,
        word_lists=WORD_LISTS,
        forms=forms or _add_forms(),
        try_form=try_form or TryForm(formdata=None),
        trial=trial,
        ttl=settings.knowledge_ttl_seconds,
    )
    return body, code


@bp.get("")
def index() -> ResponseReturnValue:
    """The four lists."""
    return render_lists()


@bp.post("/<list_name>/add")
def add(list_name: str) -> ResponseReturnValue:
    """Add the terms typed into one list's form, or show what is wrong with them."""
    name = _list_or_404(list_name)
    forms = _add_forms(name)
    form = forms[name]
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return render_lists(forms, code=400)
    lines = (form.terms.data or "").splitlines()
    try:
        added = add_values(db.session, current_settings(), name, lines, current_staff())
        db.session.commit()
    except ListError as error:
        db.session.rollback()
        form.terms.errors = [p.translated() for p in error.problems]
        return render_lists(forms, code=400)
    except IntegrityError:
        # Another admin added the same value between our check and our insert.
        db.session.rollback()
        form.terms.errors = [_("Someone else just changed this list: check it and try again.")]
        return render_lists(forms, code=409)
    values = ", ".join(entry.value for entry in added)
    flash(_("Added to %(list)s: %(values)s.", list=LABELS[name], values=values), "success")
    return redirect(url_for(".index", _anchor=name.value), code=303)


@bp.post("/entries/<int:entry_id>/remove")
def remove(entry_id: int) -> ResponseReturnValue:
    """Remove one entry."""
    if not RemoveForm().validate_on_submit():
        abort(400)
    entry = db.session.get(ListEntry, entry_id)
    if entry is None:
        flash(_("That entry had already been removed."), "info")
        return redirect(url_for(".index"), code=303)
    name, value = entry.list, entry.value
    remove_entry(db.session, entry, current_staff())
    db.session.commit()
    flash(_("Removed from %(list)s: %(value)s.", list=LABELS[name], value=value), "success")
    return redirect(url_for(".index", _anchor=name.value), code=303)


@bp.post("/try")
def try_it() -> ResponseReturnValue:
    """Show what the lists make of a pasted text. Posted, so the text stays out of logs."""
    form = TryForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return render_lists(try_form=form, code=400)
    settings = current_settings()
    trial = try_text(current_lists(db.session, settings), settings, form.text.data or "")
    db.session.rollback()
    return render_lists(try_form=form, trial=trial)


def _list_or_404(value: str) -> ListName:
    try:
        return ListName(value)
    except ValueError:
        abort(404)
