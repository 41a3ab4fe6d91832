"""Size limits, defined once and used by the forms, the models and the length check."""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import Kind


@dataclass(frozen=True)
class Limit:
    """The inclusive bounds of a text field, in characters."""

    min: int
    max: int


# The body of a submission, per kind. A tip can be long: a source explaining a story needs room.
BODY: dict[Kind, Limit] = {
    Kind.comment: Limit(min=2, max=3000),
    Kind.tip: Limit(min=10, max=20000),
}

NAME_MAX = 80  # a commenter's display name, a tipster's optional name
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
CONTACT_MAX = 300  # a tipster's free-form contact: e-mail, phone, Signal, ...
REASON_MAX = 500  # a moderator's or a check's reason

# Whole request bodies on the public site. Form-encoding can triple non-ASCII text, so this
# leaves room for the longest tip; anything larger is refused with 413 before it is parsed.
INTAKE_MAX_REQUEST_BYTES = 256 * 1024

# Retraining the spam classifier waits until moderators have published or marked as spam at
# least this many comments (worker.learning); the staff site's model page says so.
RETRAIN_MIN_DECISIONS = 10

FLAG_TEXT_MAX = 500  # what a reader may add to a report
NOTE_MAX = 2000  # a moderator's note on a submission
SEARCH_MAX = 200  # a search term in the staff site's queue
TIP_LABEL_MAX = 40  # one label of a tip on the triage desk
TIP_LABELS_MAX = 10  # labels on one tip
TIP_MESSAGE_MAX = 20_000  # a follow-up from a source, a reply to them, an internal note
ATTACHMENTS_MAX = 5  # files with one tip or one follow-up
ATTACHMENT_BYTES_MAX = 20 * 1024 * 1024  # one file
ATTACHMENTS_TOTAL_BYTES_MAX = 50 * 1024 * 1024  # all the files sent at once
