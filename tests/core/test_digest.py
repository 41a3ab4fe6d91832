"""The digest's content and e-mail form: figures match the data, tips never leak, constant cost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from core import tipkeys
from core.db import utcnow
from core.digest import Counted, Digest, SectionCache, build_digest, render_digest
from core.enums import Kind, Role, Status
from core.models import AuditEvent, Submission, TipDetails, TipLabel
from core.staff import create_staff_user
from tests.support_digest import (
    ANA,
    BEA,
    OLD_DAYS,
    STAFF_PASSWORD,
    TIP_MARKERS,
    Desk,
    Sample,
    arrange_day,
)
from tests.support_tips import make_editor_with_tip_key

M = "https://staff.example.org"
S = Status


@pytest.fixture
def day(session: Session) -> Sample:
    return arrange_day(session)


def _digest(session: Session, sample: Sample, role: Role = Role.editor) -> Digest:
    recipient = sample.editor if role is not Role.moderator else sample.ana
    return build_digest(
        session, recipient, sample.now - timedelta(hours=24), sample.now, moderation_url=M + "/"
    )


def test_the_sections_match_a_known_day(session: Session, day: Sample) -> None:
    digest = _digest(session, day)
    assert not digest.empty

    tips = digest.tips
    assert tips is not None
    assert tips.new == 3  # the tip of 3 days ago is not in the period
    assert tips.url == f"{M}/tips?status=new"
    assert tips.by_status == [
        Counted("in_progress", 1, f"{M}/tips?status=in_progress"),
        Counted("new", 2, f"{M}/tips?status=new"),
    ] or tips.by_status == [
        Counted("new", 2, f"{M}/tips?status=new"),
        Counted("in_progress", 1, f"{M}/tips?status=in_progress"),
    ]
    assert tips.by_label == [
        Counted("elecciones", 2, f"{M}/tips?label=elecciones"),
        Counted("salud", 1, f"{M}/tips?label=salud"),
    ]

    backlog = digest.backlog
    assert backlog is not None
    assert (backlog.pending, backlog.reported, backlog.new_comments) == (2, 1, 12)
    assert backlog.pending_url == f"{M}/queue?status=pending"
    assert backlog.reported_url == f"{M}/queue?status=reported"
    assert backlog.oldest_pending_age == pytest.approx(OLD_DAYS * 86400, abs=5)
    # Five of the six articles, busiest first, ties by title; each links to its queue.
    assert [(a.name, a.count) for a in backlog.top_articles] == [
        ("Apagones en La Habana", 4),
        ("El precio del pan", 3),
        ("Transporte urbano", 2),
        ("Escuelas", 1),
        ("Hospitales", 1),
    ]
    assert backlog.top_articles[0].url == f"{M}/queue?status=all&article=apagones"

    checks = digest.checks
    assert checks is not None
    # The 5 old ones were caught 3 days ago, outside the period.
    assert (checks.spam_caught, checks.spam_by_hand, checks.false_positives) == (3, 1, 1)
    assert checks.spam_url == f"{M}/queue?status=spam"
    assert checks.false_positives_url == f"{M}/tuning/false-positives"

    activity = digest.activity
    assert activity is not None
    assert activity.people == [Counted(ANA, 3), Counted(BEA, 1)]
    assert activity.total == 4 and activity.url == f"{M}/stats"


def test_a_moderator_gets_no_tips_section(session: Session, day: Sample) -> None:
    digest = _digest(session, day, Role.moderator)
    assert digest.tips is None
    assert digest.backlog is not None and digest.checks is not None
    rendered = render_digest(digest, "en")
    for part in (rendered.html, rendered.text):
        assert "Tips" not in part and "/tips" not in part and "elecciones" not in part
    assert "new tip" not in rendered.subject


def test_the_period_end_is_respected(session: Session, day: Sample) -> None:
    # Work after the end of the period is left for the next digest.
    desk = Desk(session)
    late = day.now + timedelta(minutes=30)
    article = desk.article("tarde", "Tarde")
    desk.arrive(article, late, S.spam)
    desk.decide(desk.arrive(article, late, S.pending), S.rejected, day.bea, late)
    desk.tip(late, S.new, ("tarde",))
    digest = _digest(session, day)
    assert digest.checks is not None and digest.checks.spam_caught == 3
    assert digest.activity is not None and digest.activity.total == 4
    assert digest.backlog is not None and digest.backlog.new_comments == 12
    assert digest.tips is not None and digest.tips.new == 3


def test_nothing_in_the_period_is_empty(session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    desk = Desk(session)
    # Everything happened last week and nothing waits now.
    week_ago = utcnow() - timedelta(days=7)
    desk.arrive(desk.article("a", "A"), week_ago, S.published)
    desk.tip(week_ago, S.closed)
    now = utcnow()
    digest = build_digest(session, editor, now - timedelta(hours=24), now, moderation_url=M)
    assert digest.empty
    assert (digest.tips, digest.backlog, digest.checks, digest.activity) == (None,) * 4
    rendered = render_digest(digest, "en")
    assert "Nothing to report in this period." in rendered.text
    assert "Nothing to report in this period." in rendered.html


def test_no_tip_secret_appears_in_any_part(session: Session, day: Sample) -> None:
    digest = _digest(session, day)
    for locale in ("en", "es"):
        rendered = render_digest(digest, locale)
        for part in (rendered.subject, rendered.html, rendered.text):
            for marker in TIP_MARKERS:
                assert marker not in part
        # The labels staff wrote are shown.
        assert "elecciones" in rendered.html and "elecciones" in rendered.text


def test_the_parts_say_the_same_and_link_to_the_queues(session: Session, day: Sample) -> None:
    rendered = render_digest(_digest(session, day), "en")
    assert rendered.subject == "Tipline digest: 3 new tips, 3 comments waiting"
    text = rendered.text
    assert "New tips in this period: 3" in text
    assert f"elecciones: 2 <{M}/tips?label=elecciones>" in text
    assert f"Pending: 2 <{M}/queue?status=pending>" in text
    assert "Oldest pending comment has waited: 3 days" in text
    assert f"Apagones en La Habana: 4 <{M}/queue?status=all&article=apagones>" in text
    assert "Zoológico" not in text
    assert "Spam caught by the checks: 3" in text and "False positives corrected: 1" in text
    assert f"{ANA}: 3" in text and f"{BEA}: 1" in text

    html = rendered.html
    for url in (
        f"{M}/tips?status=new",
        f"{M}/tips?label=salud",
        f"{M}/queue?status=pending",
        f"{M}/queue?status=reported",
        f"{M}/queue?status=all&amp;article=apagones",
        f"{M}/queue?status=spam",
        f"{M}/tuning/false-positives",
        f"{M}/stats",
    ):
        assert f'href="{url}"' in html, url
    assert "Apagones en La Habana" in html and f"{ANA}" in html


def test_the_html_part_is_safe_for_mail_clients(session: Session, day: Sample) -> None:
    html = render_digest(_digest(session, day), "en").html
    assert html.startswith("<!doctype html>")
    assert "<style" not in html and "<script" not in html and "<link" not in html
    # No images at all, so none remote; every link is absolute.
    assert "<img" not in html and "url(" not in html
    assert all(href.startswith(M) for href in re.findall(r'href="([^"]*)"', html))
    assert 'style="' in html and "<table" in html


def test_labels_and_titles_are_escaped(session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    desk = Desk(session)
    now = utcnow()
    desk.arrive(desk.article("x", "<b>Negrita</b> & co"), now - timedelta(hours=1), S.pending)
    desk.tip(now - timedelta(hours=1), S.new, ('"><script>',))
    digest = build_digest(session, editor, now - timedelta(hours=24), now, moderation_url=M)
    html = render_digest(digest, "en").html
    assert "<b>Negrita</b>" not in html and "&lt;b&gt;Negrita&lt;/b&gt; &amp; co" in html
    assert "<script>" not in html and "label=%22%3E%3Cscript%3E" in html


def test_spanish_for_a_spanish_recipient(session: Session, day: Sample) -> None:
    digest = _digest(session, day)
    spanish, english = render_digest(digest, "es"), render_digest(digest, "en")
    assert '<html lang="es">' in spanish.html
    # Headings and statuses from the catalog, the duration and dates in Spanish.
    for part in (spanish.html, spanish.text):
        assert "Pistas" in part and "Pendiente" in part and "Reportado" in part
        assert "En curso" in part and "Decisiones" in part
        assert "3 d" in part and "3 days" not in part
    assert "Pistas" not in english.text and "Tips" in english.text
    # The period's dates: English month names are capitalised, Spanish ones are not.
    month = day.now.strftime("%b")
    assert month in english.text.splitlines()[1]
    assert month not in spanish.text.splitlines()[1]


def test_an_unknown_locale_falls_back_to_english(session: Session, day: Sample) -> None:
    rendered = render_digest(_digest(session, day), "xx")
    assert "New tips in this period" in rendered.text


# --- Cost --------------------------------------------------------------------------------------


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # SQLite's transactions open with an explicit BEGIN (core.db): not a query.
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _fill(session: Session, n: int) -> None:
    """`n` comments and n/10 tips in the last day over n/10 articles, with audit rows."""
    desk = Desk(session)
    now = utcnow()
    staff = [
        create_staff_user(session, f"mod{i}-{n}@example.org", STAFF_PASSWORD, Role.moderator)
        for i in range(max(1, n // 30))
    ]
    session.commit()
    articles = [desk.article(f"a{n}-{i}", f"Artículo {i}") for i in range(max(1, n // 10))]
    statuses = (S.pending, S.spam, S.published, S.rejected, S.reported)
    comments = [
        Submission(
            kind=Kind.comment,
            status=statuses[i % len(statuses)],
            article_id=articles[i % len(articles)].id,
            body="x",
            created_at=now - timedelta(minutes=i + 1),
            updated_at=now,
        )
        for i in range(n)
    ]
    session.add_all(comments)
    session.flush()
    audits = []
    for i, comment in enumerate(comments):
        person = staff[i % len(staff)]
        audits.append(
            AuditEvent(
                at=now - timedelta(minutes=i),
                actor_id=None if i % 2 else person.id,
                actor_label="system" if i % 2 else person.email,
                action="checks" if i % 2 else "status",
                submission_id=comment.id,
                from_status=S.pending.value,
                to_status=comment.status.value,
            )
        )
    session.add_all(audits)
    key = tipkeys.current_public_key(session)
    assert key is not None
    for i in range(max(1, n // 10)):
        tip = Submission(
            kind=Kind.tip,
            status=(S.new, S.in_progress, S.closed)[i % 3],
            sealed=tipkeys.seal_to(key, {"text": "t"}),
            created_at=now - timedelta(minutes=i + 1),
            updated_at=now,
        )
        session.add_all([tip, TipDetails(submission=tip, tip_key_id=key.id)])
        session.flush()
        session.add(TipLabel(submission_id=tip.id, label=f"label-{i % 15}"))
    session.commit()


def test_the_number_of_statements_does_not_grow_with_the_data(
    session: Session, engine: Engine
) -> None:
    editor = make_editor_with_tip_key(session)
    counts = []
    for n in (10, 300):
        _fill(session, n)
        now = utcnow() + timedelta(seconds=1)
        with _statements(engine) as seen:
            digest = build_digest(session, editor, now - timedelta(days=1), now, moderation_url=M)
            render_digest(digest, "en")
        session.commit()
        assert digest.tips and digest.backlog and digest.checks and digest.activity
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    assert counts[1] == 9, counts
    # And the figures did grow: 10 then 310 comments in the last day.
    backlog = digest.backlog
    assert backlog is not None and backlog.new_comments == 310 and len(backlog.top_articles) == 5


def test_recipients_of_one_period_share_its_sections_in_one_run(
    session: Session, engine: Engine
) -> None:
    editor = make_editor_with_tip_key(session)
    colleague = create_staff_user(
        session, "colleague@example.org", "colleague-pass-1234", Role.editor
    )
    session.commit()
    _fill(session, 20)
    now = utcnow() + timedelta(seconds=1)
    start = now - timedelta(days=1)
    cache = SectionCache()
    with _statements(engine) as first:
        one = build_digest(session, editor, start, now, moderation_url=M, cache=cache)
    with _statements(engine) as second:
        two = build_digest(session, colleague, start, now, moderation_url=M, cache=cache)
    with _statements(engine) as other_period:
        build_digest(
            session, editor, start - timedelta(days=1), start, moderation_url=M, cache=cache
        )
    session.commit()
    # Another period (a catch-up) is built on its own.
    assert len(first) == 9 and second == [] and len(other_period) > 0
    assert (one.tips, one.backlog, one.checks, one.activity) == (
        two.tips,
        two.backlog,
        two.checks,
        two.activity,
    )
