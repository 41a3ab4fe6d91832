"""The comment queue's filters: article, the check that fired, language, dates and a search term.

Parsed from the query string by a plain function. A value that cannot be used (a malformed date,
an unknown check, an article that does not exist) is dropped with a message the page shows above
the list; the rest of the filters still apply, and the page is a 200 — a typo in a filter is not
a bad request worth an error page. Every filter is a WHERE condition on the same keyset-ordered
query, so the `after` cursor and the order keep working on a filtered list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from core import limits, search
from core.enums import Verdict
from core.i18n import LANGUAGE_NAMES
from core.models import Article, CheckResult, Submission
from moderation.display import CHECK_LABELS

# The query-string names of the filters, in the order links spell them.
FILTER_ARGS = ("article", "check", "verdict", "language", "from", "to", "q")
# Verdicts that mean a check fired; "ok" is not a reason to look at a comment.
FIRED = (Verdict.spam, Verdict.suspect, Verdict.error)
# Articles offered as suggestions in the filter form: the newest ones, which get the comments.
SUGGESTED_ARTICLES = 100
# A rejected value is quoted back in its message up to this length.
_QUOTE_MAX = 60
_ARTICLE_MAX = 200  # Article.slug's length
_CHECK_NAME = re.compile(r"[\w.:-]{1,40}")


@dataclass(frozen=True)
class QueueFilters:
    """Which comments a queue page lists, on top of its tab; empty fields filter nothing."""

    article_id: int | None = None
    # What the article was asked for by (its slug or number), to put back in links.
    article: str = ""
    check: str = ""
    verdict: Verdict | None = None
    language: str = ""
    start: date | None = None
    end: date | None = None
    q: str = ""

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(self.args())

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments, the empty ones left out (for links)."""
        found = {
            "article": self.article,
            "check": self.check,
            "verdict": self.verdict.value if self.verdict else "",
            "language": self.language,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "q": self.q,
        }
        return {key: value for key, value in found.items() if value}

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        """The WHERE conditions of these filters on Submission, for the database `dialect`."""
        found: list[ColumnElement[bool]] = []
        if self.article_id is not None:
            found.append(Submission.article_id == self.article_id)
        if self.check or self.verdict:
            # EXISTS rather than a join: a submission with several matching results is listed
            # once, and the (name, verdict, submission_id) index answers it without the table.
            fired = exists().where(
                CheckResult.submission_id == Submission.id,
                CheckResult.verdict.in_([self.verdict] if self.verdict else FIRED),
            )
            if self.check:
                fired = fired.where(CheckResult.name == self.check)
            found.append(fired)
        if self.language:
            found.append(Submission.locale == self.language)
        if self.start is not None:
            found.append(Submission.created_at >= _day_start(self.start))
        if self.end is not None and self.end < date.max:
            # Inclusive: everything before the start of the next day.
            found.append(Submission.created_at < _day_start(self.end + timedelta(days=1)))
        if self.q:
            matched = search.matches(self.q, dialect)
            if matched is not None:
                found.append(matched)
        return found


@dataclass
class ParsedFilters:
    """The filters that could be used and a message for each value that could not."""

    filters: QueueFilters
    errors: list[LazyString] = field(default_factory=list)
    # The article filtered on, to name it on the page.
    article: Article | None = None


def check_names() -> tuple[str, ...]:
    """The names of the checks a moderator can filter on."""
    return tuple(CHECK_LABELS)


def languages() -> tuple[str, ...]:
    """The languages comments can be written in."""
    return tuple(LANGUAGE_NAMES)


def parse_filters(session: Session, args: Mapping[str, str]) -> ParsedFilters:
    """The queue filters in the query `args`; unusable values are left out with a message."""
    errors: list[LazyString] = []

    article_ref = _text(args, "article", _ARTICLE_MAX)
    article = find_article(session, article_ref) if article_ref else None
    if article_ref and article is None:
        errors.append(
            _l(
                "There is no article “%(value)s”: enter its address (slug) or number. "
                "The article filter was ignored.",
                value=_quote(article_ref),
            )
        )
        article_ref = ""

    check = _text(args, "check", 100)
    verdict_value = _text(args, "verdict", 20)
    verdict: Verdict | None = None
    if verdict_value:
        try:
            verdict = Verdict(verdict_value)
        except ValueError:
            verdict = None
        if verdict not in FIRED:
            errors.append(
                _l(
                    "Unknown verdict “%(value)s”; the check filter was ignored.",
                    value=_quote(verdict_value),
                )
            )
            check, verdict = "", None
    if check and (not _CHECK_NAME.fullmatch(check) or check not in check_names()):
        errors.append(
            _l("Unknown check “%(value)s”; the check filter was ignored.", value=_quote(check))
        )
        check, verdict = "", None

    language = _text(args, "language", 20)
    if language and language not in languages():
        errors.append(
            _l(
                "Unknown language “%(value)s”; the language filter was ignored.",
                value=_quote(language),
            )
        )
        language = ""

    start = _date(args, "from", errors)
    end = _date(args, "to", errors)
    if start and end and end < start:
        errors.append(_l("The end date is before the start date; both dates were ignored."))
        start = end = None

    q = " ".join(_text(args, "q", limits.SEARCH_MAX).split())
    if q and not search.words(q):
        errors.append(
            _l(
                "“%(value)s” has no words to search for; the search was ignored.",
                value=_quote(q),
            )
        )
        q = ""

    filters = QueueFilters(
        article_id=article.id if article else None,
        article=article_ref,
        check=check,
        verdict=verdict,
        language=language,
        start=start,
        end=end,
        q=q,
    )
    return ParsedFilters(filters, errors, article)


def find_article(session: Session, ref: str) -> Article | None:
    """The article whose slug is `ref`, or whose number it is."""
    found = session.scalars(select(Article).where(Article.slug == ref)).first()
    if found is None and ref.isdigit() and len(ref) < 12:
        found = session.get(Article, int(ref))
    return found


def suggested_articles(session: Session) -> list[Article]:
    """The newest articles, offered as suggestions in the filter form."""
    return list(
        session.scalars(
            select(Article)
            .order_by(Article.created_at.desc(), Article.id.desc())
            # Enough for the articles that get comments now; any other is found by its slug.
            .limit(SUGGESTED_ARTICLES)
        )
    )


def _text(args: Mapping[str, str], name: str, max_length: int) -> str:
    return (args.get(name) or "").strip()[:max_length]


def _date(args: Mapping[str, str], name: str, errors: list[LazyString]) -> date | None:
    value = _text(args, name, 40)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(
            _l(
                "“%(value)s” is not a date (write it as YYYY-MM-DD); that date was ignored.",
                value=_quote(value),
            )
        )
        return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _quote(value: str) -> str:
    return value if len(value) <= _QUOTE_MAX else value[: _QUOTE_MAX - 1] + "…"
