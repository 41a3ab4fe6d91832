"""What a comment's page shows besides the comment: its marked text, the article, the sender's
record, notes and who else has it open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import format_decimal, gettext
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ListName, Status, Verdict
from core.models import ListEntry, StaffUser, Submission

# The module, not its functions: moderation.notes imports moderation.submissions, which imports
# this module.
from moderation import notes
from moderation.claims import RENEW_EVERY, Reviewer, active_claims
from moderation.display import check_label, check_reason
from moderation.featuring import can_feature
from moderation.highlight import highlight
from moderation.history import sender_history
from worker.checks.base import Lists
from worker.checks.links import shorteners
from worker.normalize import normalise, term_index

# A reply's page shows this much of the comment it answers.
PARENT_EXCERPT_CHARS = 200
# An article's published comments are counted up to this; beyond it the page says "more than".
PUBLISHED_COUNT_CAP = 1000

# The word check's reasons, by list (msgids of worker.checks.words).
WORD_REASONS = {
    ListName.banned_words: "banned word: %(word)s",
    ListName.suspect_words: "suspect word: %(word)s",
}


def marked_text(session: Session, settings: Settings, submission: Submission) -> Markup:
    """The comment's text, escaped, with listed words and links marked and titled."""
    text = submission.body or ""
    if not text:
        return Markup("")
    entries: dict[ListName, list[str]] = {name: [] for name in ListName}
    for name, value in session.execute(
        select(ListEntry.list, ListEntry.value).where(
            ListEntry.list.in_((ListName.banned_words, ListName.suspect_words))
        )
    ):
        entries[name].append(value)
    lists = Lists.build(settings, entries)
    normalised = normalise(text)
    terms: dict[str, str] = {}
    # Suspect first, so that a term on both lists is titled by the banned one.
    for name, listed_terms in (
        (ListName.suspect_words, lists.suspect_words),
        (ListName.banned_words, lists.banned_words),
    ):
        for term in term_index(listed_terms).find_all(normalised):
            terms[term] = gettext(WORD_REASONS[name], word=term)
    results = {result.name: result for result in submission.check_results}
    words = results.get("words")
    if words is not None and words.verdict is not Verdict.ok:
        # The word the check named, even if it has left the lists since.
        word = str((words.reason_params or {}).get("word", ""))
        if word:
            terms.setdefault(word, check_reason(words))
    links = results.get("links")
    domain_titles: dict[str, str] = {}
    if links is not None and (links.reason_params or {}).get("domain"):
        domain_titles[str(links.reason_params["domain"])] = check_reason(links)
    short = shorteners(settings.url_shorteners)
    return highlight(
        text,
        terms,
        link_title=check_label("links"),
        known=(short, frozenset(domain_titles)),
        domain_titles=domain_titles,
    )


def published_on_article(session: Session, article_id: int | None) -> int:
    """How many comments are published on the article, counted up to PUBLISHED_COUNT_CAP."""
    if article_id is None:
        return 0
    # No condition on kind: only comments are ever published, and without it the
    # (article_id, status, created_at) index answers alone (an index-only scan); with it every
    # row is read from the table, about a second for a popular article with 90,000 comments.
    # Even index-only, counting 50,000 entries takes 10 ms, a third of the page's budget, to
    # tell a moderator what "more than a thousand" tells as well.
    capped = (
        select(Submission.id)
        .where(Submission.article_id == article_id, Submission.status == Status.published)
        .limit(PUBLISHED_COUNT_CAP + 1)
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(capped))
    return int(count or 0)


@dataclass(frozen=True)
class ParentComment:
    """What a reply's page shows of the comment it answers."""

    id: int
    author_name: str
    excerpt: str


def parent_comment(session: Session, submission: Submission) -> ParentComment | None:
    """The comment a reply answers (one small query, only for a reply), else None."""
    if submission.parent_id is None:
        return None
    row = session.execute(
        select(Submission.id, Submission.author_name, Submission.body).where(
            Submission.id == submission.parent_id
        )
    ).first()
    if row is None:
        return None
    body = " ".join((row.body or "").split())
    excerpt = body if len(body) <= PARENT_EXCERPT_CHARS else body[:PARENT_EXCERPT_CHARS] + "…"
    return ParentComment(row.id, row.author_name or "", excerpt)


def page_context(
    session: Session,
    settings: Settings,
    submission: Submission,
    viewer: StaffUser,
    reviewers: dict[int, Reviewer] | None = None,
) -> dict[str, Any]:
    """The item view's parts, for submission.html (`reviewers` are read unless given)."""
    if reviewers is None:
        reviewers = active_claims(session, [submission.id], exclude_staff=viewer)
    return {
        "marked_text": marked_text(session, settings, submission),
        "published_count": published_on_article(session, submission.article_id),
        "published_cap": PUBLISHED_COUNT_CAP,
        "published_cap_text": format_decimal(PUBLISHED_COUNT_CAP),
        "sender": sender_history(session, submission),
        "notes": notes.list_notes(session, submission.id),
        "note_form": notes.note_form(),
        "reviewers": reviewers,
        "renew_ms": int(RENEW_EVERY.total_seconds() * 1000),
        "parent": parent_comment(session, submission),
        "can_feature": can_feature(submission),
    }
