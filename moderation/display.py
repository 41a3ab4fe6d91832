"""How the staff site names things: translated labels for statuses, verdicts and decisions."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import format_datetime, format_decimal, format_timedelta, gettext
from flask_babel import lazy_gettext as _l

from core.db import utcnow
from core.enums import FlagReason, Kind, Role, Status, Verdict
from core.flags import REASON_LABELS
from core.models import CheckResult
from core.transitions import SYSTEM, UNKNOWN_ACCOUNT

log = logging.getLogger(__name__)

# The actor of changes made with `tipline bans` and `tipline lists` (see CLI_ACTOR there).
CLI_ACTOR = "cli"

STATUS_LABELS = {
    Status.received: _l("Received"),
    Status.published: _l("Published"),
    Status.pending: _l("Pending"),
    Status.spam: _l("Spam"),
    Status.rejected: _l("Rejected"),
    Status.reported: _l("Reported"),
    Status.new: _l("New"),
    Status.in_progress: _l("In progress"),
    Status.followed_up: _l("Followed up"),
    Status.closed: _l("Closed"),
    Status.purged: _l("Purged"),
}

VERDICT_LABELS = {
    Verdict.ok: _l("OK"),
    Verdict.suspect: _l("Suspect"),
    Verdict.spam: _l("Spam"),
    Verdict.error: _l("Error"),
}

# The checks' stored names, as moderators read them; a check not listed shows its own name.
CHECK_LABELS = {
    "length": _l("length"),
    "links": _l("links"),
    "words": _l("word lists"),
    "repetition": _l("repetition"),
    "flood": _l("copies and rate"),
    "reputation": _l("sender's record"),
    "classifier": _l("spam classifier"),
    "akismet": _l("Akismet"),
    "premoderation": _l("pre-moderation"),
}

ACTION_LABELS = {
    "ban": _l("sender banned"),
    "undo": _l("decision undone"),
    "flagged": _l("reported by readers"),
    "bulk": _l("bulk decision"),
    "unban": _l("ban lifted"),
    "note": _l("note added"),
    "premoderate": _l("sender put in pre-moderation"),
    "unpremoderate": _l("pre-moderation lifted"),
    "ban_reject": _l("rejected with a ban"),
    "list_add": _l("added to a list"),
    "list_remove": _l("removed from a list"),
    "model_promoted": _l("spam model promoted"),
    "model_rejected": _l("spam model kept"),
    "status": _l("status changed"),
    "checks": _l("status set by the checks"),
    "login": _l("logged in"),
    "tip_file": _l("tip's file downloaded"),
    "login_failed": _l("failed login"),
    "setting": _l("setting changed"),
    "article_mode": _l("article's comments mode changed"),
    "staff": _l("staff account changed"),
    "two_factor": _l("two-factor login changed"),
    "password": _l("password changed"),
    "tip_assign": _l("tip assigned"),
    "tip_unassign": _l("tip unassigned"),
    "tip_label": _l("label added"),
    "tip_unlabel": _l("label removed"),
    "tip_star": _l("starred"),
    "tip_unstar": _l("star removed"),
    "tip_keep": _l("marked to keep"),
    "tip_unkeep": _l("keep mark removed"),
    "tip_note": _l("internal note added"),
    "purge": _l("tip deleted after the retention period"),
    "codename_expired": _l("codename expired without a reply"),
    "feature": _l("comment featured"),
    "unfeature": _l("comment no longer featured"),
    "api_token": _l("API token changed"),
    "webhook": _l("webhook changed"),
}

ROLE_LABELS = {
    Role.moderator: _l("Moderator"),
    Role.editor: _l("Editor"),
    Role.admin: _l("Admin"),
}

# What the button that moves a submission to a status says, per kind.
DECISION_LABELS = {
    Kind.comment: {
        Status.published: _l("Approve"),
        Status.rejected: _l("Reject"),
        Status.spam: _l("Spam"),
        Status.pending: _l("Back to pending"),
    },
    Kind.tip: {
        Status.new: _l("Back to new"),
        Status.in_progress: _l("Start working on it"),
        Status.followed_up: _l("Mark as followed up"),
        Status.closed: _l("Close"),
        Status.spam: _l("Spam"),
    },
}


def status_label(status: Status | str) -> str:
    """The translated name of a status (audit rows store plain strings), or of the "All" tab."""
    if status == "all":
        return gettext("All")
    try:
        return str(STATUS_LABELS[Status(status)])
    except ValueError:
        return str(status)


def verdict_label(verdict: Verdict) -> str:
    """The translated name of a check's verdict."""
    return str(VERDICT_LABELS[verdict])


def check_label(name: str) -> str:
    """The translated name of a check."""
    label = CHECK_LABELS.get(name)
    return str(label) if label is not None else name


def score(value: float) -> str:
    """A check's score in the reader's number format (0,50 in Spanish)."""
    return format_decimal(value, format="0.00")


def role_label(role: Role) -> str:
    """The translated name of a staff role."""
    return str(ROLE_LABELS[role])


# Publishing a reported comment again keeps it up and dismisses its readers' reports.
KEEP_LABEL = _l("Keep (dismiss reports)")

# What came of readers' flags when a moderator decided the reported comment (core.transitions).
FLAG_OUTCOME_LABELS = {
    "kept": _l("kept"),
    "rejected": _l("rejected"),
    "spam": _l("marked as spam"),
}


def decision_label(kind: Kind, to: Status, frm: Status | None = None) -> str:
    """The label of the button that moves a submission of `kind` (from `frm`) to `to`."""
    if kind == Kind.comment and frm == Status.reported and to == Status.published:
        return str(KEEP_LABEL)
    return str(DECISION_LABELS[kind].get(to, STATUS_LABELS[to]))


def flag_reason_label(reason: FlagReason) -> str:
    """A reader's reason for a flag, in the staff member's language."""
    return str(REASON_LABELS[reason])


def flag_outcome_label(outcome: str | None) -> str:
    """What came of a flag ("kept", ...), or "open" while no moderator has decided."""
    if outcome is None:
        return gettext("open")
    label = FLAG_OUTCOME_LABELS.get(outcome)
    return str(label) if label is not None else outcome


def action_label(action: str) -> str:
    """An audit action that is not a status change, in the reader's language."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def actor_label(label: str) -> str:
    """Who did something, as the audit log shows it: an e-mail, or the automatic checks."""
    if label == SYSTEM:
        return gettext("automatic checks")
    if label == UNKNOWN_ACCOUNT:
        return gettext("an unknown account")
    if label == CLI_ACTOR:
        return gettext("command line")
    return label


def check_reason(result: CheckResult) -> str:
    """A check's reason in the reader's language: the stored msgid with its parameters."""
    params = result.reason_params or {}
    try:
        return gettext(result.reason, **params)
    except (KeyError, ValueError, TypeError):
        # A reason whose placeholders do not match its parameters must not break the queue.
        log.warning("check %s stored a reason that does not format", result.name)
        return result.reason


def age(moment: datetime, now: datetime | None = None) -> str:
    """How long ago `moment` was, in words ("5 minutes ago")."""
    # A negative delta makes Babel say "ago" rather than "in".
    return format_timedelta(moment - (now or utcnow()), add_direction=True)


def when(moment: datetime) -> str:
    """A point in time in the reader's locale, marked as UTC (the zone we store and show)."""
    return gettext("%(time)s UTC", time=format_datetime(moment, "medium"))
