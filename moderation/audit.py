"""The audit log, for admins: every status change, ban, list change and login; filters, CSV.

Rows are only read here. No route edits or deletes one, and none may be added: the log is the
record of who did what, and a tool to rewrite it would make it worthless (a test checks the URL
map). The page is paged by (at, id), newest first; the CSV export streams, however long the log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session
from wtforms import Field, Form, SelectField, StringField, ValidationError
from wtforms.validators import Length, Optional

from core.db import db, utcnow
from core.enums import Kind, Role
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import SYSTEM, UNKNOWN_ACCOUNT
from moderation.access import ensure_role
from moderation.bans import CLI_ACTOR
from moderation.display import action_label, actor_label
from moderation.review import Cursor

# No url_prefix: the export lives at /audit.csv, beside the page, which a prefix cannot express.
bp = Blueprint("audit", __name__)

PER_PAGE = 100
# Rows fetched from the database at a time while the CSV streams.
CSV_BATCH = 1000
CSV_HEADER = (
    "id",
    "time_utc",
    "actor",
    "action",
    "submission_kind",
    "submission_ref",
    "from_status",
    "to_status",
    "reason",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): a reason
# or a tried e-mail address is text someone else chose, so such cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REF_MAX = 16


@bp.before_request
def admins_only() -> None:
    """The whole log, present routes and future ones, is for admins."""
    ensure_role(Role.admin)


class IsoDate:
    """Accept an empty field or a date written YYYY-MM-DD (what a date input sends)."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and parse_date(field.data) is None:
            raise ValidationError(self.message or _("Enter a date as YYYY-MM-DD."))


class AuditFilterForm(FlaskForm):
    """The log's filters, read from the query string (a GET form: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    # Choices are filled per request; an unknown value simply matches no rows.
    person = SelectField(_l("Person"), choices=[], validate_choice=False)
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    # A date input sends YYYY-MM-DD; browsers without one show a text box that takes the same.
    start = StringField(
        _l("From date"), validators=[Optional(), IsoDate()], render_kw={"type": "date"}
    )
    end = StringField(_l("To date"), validators=[Optional(), IsoDate()], render_kw={"type": "date"})
    ref = StringField(
        _l("Submission reference"),
        validators=[Optional(), Length(max=REF_MAX)],
        filters=[lambda value: (value or "").strip().upper()],
    )

    def validate_end(self, field: Field) -> None:
        """The period must not end before it starts."""
        start, end = parse_date(self.start.data), parse_date(field.data)
        if start and end and end < start:
            raise ValidationError(_("The end date is before the start date."))


@dataclass(frozen=True)
class AuditFilter:
    """Which rows to show: a person (staff id or actor label), an action, dates, a reference."""

    person: str = ""
    action: str = ""
    start: date | None = None
    end: date | None = None
    ref: str = ""

    @classmethod
    def from_form(cls, form: AuditFilterForm) -> AuditFilter:
        """The filter a validated form describes."""
        return cls(
            person=form.person.data or "",
            action=form.action.data or "",
            start=parse_date(form.start.data),
            end=parse_date(form.end.data),
            ref=form.ref.data or "",
        )

    def args(self) -> dict[str, str]:
        """The filter as query-string arguments, the empty ones left out (for links)."""
        found = {
            "person": self.person,
            "action": self.action,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "ref": self.ref,
        }
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class AuditRow:
    """One audit event with the reference and kind of its submission, if it has one."""

    event: AuditEvent
    ref: str | None
    kind: Kind | None


@dataclass(frozen=True)
class AuditPage:
    """One page of the log and the cursor of the next (older) one, if there is more."""

    rows: list[AuditRow]
    next_cursor: Cursor | None


def parse_date(value: str | None) -> date | None:
    """The date in `value` (YYYY-MM-DD), or None when it is empty or not such a date."""
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(columns: Any, audit_filter: AuditFilter) -> Select[Any]:
    query = select(*columns).outerjoin(Submission, Submission.id == AuditEvent.submission_id)
    person = audit_filter.person
    if person.isdigit():
        # A staff account, by id: its rows stay together even if its e-mail changes.
        query = query.where(AuditEvent.actor_id == int(person))
    elif person:
        # The checks, the command line, an unknown account, or a deleted account's old address.
        query = query.where(AuditEvent.actor_label == person)
    if audit_filter.action:
        query = query.where(AuditEvent.action == audit_filter.action)
    if audit_filter.start:
        query = query.where(AuditEvent.at >= _day_start(audit_filter.start))
    if audit_filter.end:
        # Inclusive: everything before the next day's midnight (UTC, as the log is shown).
        query = query.where(AuditEvent.at < _day_start(audit_filter.end + timedelta(days=1)))
    if audit_filter.ref:
        query = query.where(Submission.ref == audit_filter.ref)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_page(
    session: Session,
    audit_filter: AuditFilter,
    *,
    after: Cursor | None = None,
    per_page: int = PER_PAGE,
) -> AuditPage:
    """A page of the log matching `audit_filter`, newest first, continuing after `after`.

    Keyset pagination on (at, id): a page deep in a long log costs the same as the first, and
    rows written meanwhile do not shift the pages.
    """
    query = _filtered((AuditEvent, Submission.ref, Submission.kind), audit_filter)
    if after is not None:
        query = query.where(
            or_(
                AuditEvent.at < after.created_at,
                and_(AuditEvent.at == after.created_at, AuditEvent.id < after.id),
            )
        )
    found = session.execute(query.limit(per_page + 1)).all()
    rows = [AuditRow(event, ref, kind) for event, ref, kind in found[:per_page]]
    more = len(found) > per_page
    last = rows[-1].event if more else None
    return AuditPage(rows, Cursor(last.at, last.id) if last else None)


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def audit_csv(session: Session, audit_filter: AuditFilter) -> Iterator[str]:
    """The matching log as CSV text, a batch of rows at a time, starting with a UTF-8 BOM.

    The BOM makes Excel read the file as UTF-8, so Spanish reasons keep their accents.
    """
    columns = (
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor_label,
        AuditEvent.action,
        Submission.kind,
        Submission.ref,
        AuditEvent.from_status,
        AuditEvent.to_status,
        AuditEvent.reason,
    )
    query = _filtered(columns, audit_filter).execution_options(yield_per=CSV_BATCH)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for partition in session.execute(query).partitions():
        for ident, at, actor, action, kind, ref, frm, to, reason in partition:
            writer.writerow(
                (
                    ident,
                    at.isoformat(),
                    safe_cell(actor),
                    safe_cell(action),
                    kind.value if kind else "",
                    safe_cell(ref),
                    safe_cell(frm),
                    safe_cell(to),
                    safe_cell(reason),
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def person_choices(session: Session) -> list[tuple[str, str]]:
    """Everyone who can appear in the log: staff accounts, then the automatic actors."""
    accounts = session.execute(select(StaffUser.id, StaffUser.email).order_by(StaffUser.email))
    return [
        ("", _("Anyone")),
        *((str(ident), email) for ident, email in accounts),
        (SYSTEM, actor_label(SYSTEM)),
        (CLI_ACTOR, actor_label(CLI_ACTOR)),
        (UNKNOWN_ACCOUNT, actor_label(UNKNOWN_ACCOUNT)),
    ]


def action_choices(session: Session) -> list[tuple[str, str]]:
    """The actions the log holds, by their labels."""
    actions = session.scalars(select(AuditEvent.action).distinct())
    labelled = sorted(((a, action_label(a)) for a in actions), key=lambda choice: choice[1])
    return [("", _("Any action")), *labelled]


def filter_form(session: Session, args: Mapping[str, str]) -> AuditFilterForm:
    """The filter form, read from `args`, with its choices filled in."""
    form = AuditFilterForm(formdata=args)
    form.person.choices = person_choices(session)
    form.action.choices = action_choices(session)
    return form


def _streamed_csv(audit_filter: AuditFilter) -> Iterator[str]:
    # The view's own context, and its session, are closed before the stream starts; this one
    # is taken inside the context stream_with_context pushes again, which closes it at the end.
    yield from audit_csv(db.session, audit_filter)


@bp.get("/audit")
def index() -> ResponseReturnValue:
    """The log, newest first, filtered, a page at a time."""
    form = filter_form(db.session, request.args)
    page, audit_filter = None, None
    if form.validate():
        audit_filter = AuditFilter.from_form(form)
        after = Cursor.decode(request.args.get("after"))
        page = audit_page(db.session, audit_filter, after=after)
    return render_template(
        "audit.html",
        form=form,
        page=page,
        filter_args=audit_filter.args() if audit_filter else {},
    )


@bp.get("/audit.csv")
def export() -> ResponseReturnValue:
    """The filtered log as a CSV download, streamed."""
    form = filter_form(db.session, request.args)
    if not form.validate():
        abort(400)
    name = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(_streamed_csv(AuditFilter.from_form(form))),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            # Who did what is not for shared caches or the browser's back button.
            "Cache-Control": "no-store",
        },
    )
