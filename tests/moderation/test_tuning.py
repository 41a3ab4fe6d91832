"""The Tuning pages: per-check figures, false positives, the spam model and its history."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Kind, Role, Status, Verdict
from core.models import Article, AuditEvent, CheckResult, SpamModel, StaffUser, Submission
from moderation.review import Cursor
from moderation.tuning import CheckFigures, chart, check_figures, false_positives, period
from tests.moderation.conftest import login

V = Verdict
S = Status
Checks = Sequence[tuple[str, Verdict]]


class Comments:
    """Comments as the worker and moderators leave them: results, the checks' audit, a decision."""

    def __init__(self, session: Session, article: Article, moderator: StaffUser) -> None:
        self.session = session
        self.article = article
        self.moderator = moderator

    def add(
        self,
        body: str,
        checks: Checks,
        *,
        held: Status,
        now: Status | None = None,
        by_person: bool = True,
        days_ago: float = 1,
        kind: Kind = Kind.comment,
    ) -> Submission:
        """A comment the checks moved to `held`, then (if `now` differs) a person moved to `now`."""
        at = utcnow() - timedelta(days=days_ago)
        final = now or held
        decided = by_person and final is not held
        submission = Submission(
            kind=kind,
            status=final,
            article_id=self.article.id if kind is Kind.comment else None,
            author_name="Ana" if kind is Kind.comment else None,
            body=body if kind is Kind.comment else None,
            created_at=at,
            updated_at=at,
            decided_by_id=self.moderator.id if decided else None,
            decided_at=at + timedelta(hours=1) if decided else None,
        )
        for name, verdict in checks:
            submission.check_results.append(
                CheckResult(
                    name=name,
                    version="1",
                    verdict=verdict,
                    score={V.ok: 0.0, V.suspect: 0.5, V.spam: 1.0, V.error: 0.0}[verdict],
                    reason="%(count)d links (at most %(limit)d)",
                    reason_params={"count": 3, "limit": 2},
                    created_at=at,
                )
            )
        self.session.add(submission)
        self.session.flush()
        self.session.add(
            AuditEvent(
                at=at,
                actor_label="system",
                action="checks",
                submission_id=submission.id,
                from_status="received",
                to_status=held.value,
                reason="checks",
            )
        )
        if decided:
            self.session.add(
                AuditEvent(
                    at=at + timedelta(hours=1),
                    actor_id=self.moderator.id,
                    actor_label=self.moderator.email,
                    action="status",
                    submission_id=submission.id,
                    from_status=held.value,
                    to_status=final.value,
                )
            )
        self.session.commit()
        return submission


@pytest.fixture
def comments(session: Session, article: Article, moderator: StaffUser) -> Comments:
    return Comments(session, article, moderator)


@pytest.fixture
def sample(comments: Comments) -> dict[str, Submission]:
    """A constructed month of comments whose per-check figures are known."""
    add = comments.add
    return {
        # links fired, a person published it: a false positive of links.
        "fp_links": add(
            "Mira estas fotos",
            [("links", V.suspect), ("words", V.ok)],
            held=S.pending,
            now=S.published,
        ),
        # both fired, caught as spam, a person confirmed by rejecting it: agreed (both).
        "caught_rejected": add(
            "Recargas baratas", [("links", V.spam), ("words", V.spam)], held=S.spam, now=S.rejected
        ),
        # words fired, held, a person marked it as spam: agreed.
        "words_spam": add(
            "Bitcoin gratis", [("links", V.ok), ("words", V.suspect)], held=S.pending, now=S.spam
        ),
        # links failed and it still waits: fired, undecided.
        "links_error": add("Hola", [("links", V.error), ("words", V.ok)], held=S.pending),
        # clean, published by the checks: neither fired.
        "clean": add("Buen artículo", [("links", V.ok), ("words", V.ok)], held=S.published),
        # clean but held (pre-moderated article), a person published it: not a false positive.
        "pre_moderated": add(
            "Gracias", [("links", V.ok), ("words", V.ok)], held=S.pending, now=S.published
        ),
        # words caught it as spam, a person published it: a false positive of words.
        "fp_words": add(
            "Vendo mi bicicleta", [("links", V.ok), ("words", V.spam)], held=S.spam, now=S.published
        ),
        # 40 days ago: only in the 90-day figures.
        "old": add(
            "Viejo",
            [("links", V.suspect), ("words", V.ok)],
            held=S.pending,
            now=S.published,
            days_ago=40,
        ),
        # A tip: never in these figures.
        "tip": add("", [("links", V.suspect)], held=S.pending, kind=Kind.tip),
    }


def _figures(session: Session, days: int) -> dict[str, CheckFigures]:
    return {f.name: f for f in check_figures(session, utcnow() - timedelta(days=days))}


def test_per_check_figures_over_a_period(session: Session, sample: dict[str, Submission]) -> None:
    month = _figures(session, 30)
    assert month["links"] == CheckFigures(
        "links", ran=7, suspect=1, spam=1, error=1, agreed=1, disagreed=1
    )
    assert month["words"] == CheckFigures(
        "words", ran=7, suspect=1, spam=2, error=0, agreed=2, disagreed=1
    )
    assert month["links"].fired == 3 and month["links"].decided == 2
    assert month["links"].agreement == 0.5
    assert month["words"].agreement == pytest.approx(2 / 3)
    assert month["links"].fired_share == pytest.approx(3 / 7)

    quarter = _figures(session, 90)
    assert quarter["links"].ran == 8 and quarter["links"].suspect == 2
    assert quarter["links"].disagreed == 2
    assert _figures(session, 7)["links"].ran == 7


def test_chart_bars_are_as_long_as_the_check_fired() -> None:
    figures = [
        CheckFigures("links", ran=10, suspect=2, spam=2, error=0, agreed=1, disagreed=1),
        CheckFigures("words", ran=10, suspect=0, spam=0, error=0, agreed=0, disagreed=0),
    ]
    drawn = chart(figures)
    links, words = drawn.bars
    assert [s.part for s in links.segments] == ["agreed", "disagreed", "undecided"]
    assert [s.count for s in links.segments] == [1, 1, 2]
    widths = [s.width for s in links.segments]
    assert widths[2] == pytest.approx(widths[0] * 2)
    assert links.segments[1].x == pytest.approx(links.segments[0].x + widths[0])
    assert words.segments == [] and words.y > links.y
    assert drawn.height == 2 * (words.y - links.y)


def test_period_is_one_of_the_offered_ones() -> None:
    assert period("7") == 7 and period("90") == 90
    assert period("365") == 30 and period("x") == 30 and period(None) == 30


def test_checks_page_shows_the_table_and_an_svg_chart(
    client: FlaskClient, sample: dict[str, Submission]
) -> None:
    login(client, "mod@example.org")
    html = client.get("/tuning/checks?days=30").text
    row = re.search(r'<tr data-check="links">(.*?)</tr>', html, re.S)
    assert row, html
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    ]
    assert cells == ["links", "7", "3 (42.9%)", "1", "1", "1", "1", "1", "50%"]
    assert '<svg viewBox="0 0' in html and 'role="img"' in html
    assert "<rect" in html and 'fill="#0a6b2d"' in html
    # The CSP forbids inline styles and scripts: the chart uses neither.
    assert "style=" not in html and not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert 'href="/tuning/checks?days=90"' in html
    quarter = client.get("/tuning/checks?days=90").text
    assert re.search(r'<tr data-check="links">\s*<th scope="row">links</th>\s*<td>8</td>', quarter)


def test_false_positives_lists_what_people_published_after_a_check_held_it(
    session: Session, sample: dict[str, Submission]
) -> None:
    found = false_positives(session)
    ids = [item.submission.id for item in found.items]
    assert set(ids) == {sample["fp_links"].id, sample["fp_words"].id, sample["old"].id}
    # Newest decision first.
    assert ids[-1] == sample["old"].id
    fp_words = next(i for i in found.items if i.submission.id == sample["fp_words"].id)
    assert [(r.name, r.verdict) for r in fp_words.fired] == [("words", V.spam)]

    only_words = false_positives(session, check="words")
    assert [i.submission.id for i in only_words.items] == [sample["fp_words"].id]

    first = false_positives(session, per_page=2)
    assert len(first.items) == 2 and first.next_cursor is not None
    rest = false_positives(session, per_page=2, after=Cursor.decode(first.next_cursor.encode()))
    assert [i.submission.id for i in rest.items] == [sample["old"].id]
    assert rest.next_cursor is None


def test_a_comment_decided_again_as_spam_is_no_longer_a_false_positive(
    session: Session, comments: Comments
) -> None:
    submission = comments.add("Texto", [("links", V.suspect)], held=S.pending, now=S.published)
    assert [i.submission.id for i in false_positives(session).items] == [submission.id]
    submission.status = S.spam
    session.commit()
    assert false_positives(session).items == []


def test_false_positives_page_links_each_comment_and_names_its_checks(
    client: FlaskClient, sample: dict[str, Submission]
) -> None:
    login(client, "mod@example.org")
    html = client.get("/tuning/false-positives").text
    assert f'href="/submissions/{sample["fp_links"].id}"' in html
    assert f'href="/submissions/{sample["fp_words"].id}"' in html
    assert "Mira estas fotos" in html and "Vendo mi bicicleta" in html
    assert "Gracias" not in html and "Recargas baratas" not in html
    assert "3 links (at most 2)" in html and "Published by mod@example.org" in html
    filtered = client.get("/tuning/false-positives?check=words").text
    assert "Vendo mi bicicleta" in filtered and "Mira estas fotos" not in filtered
    assert '<option value="words" selected>' in filtered


def _model(session: Session, version: str, **values: object) -> SpamModel:
    row = SpamModel(version=version, weights=b"not read by the staff site", **values)
    session.add(row)
    session.commit()
    return row


def _metrics(
    f1: float, held: float, f1_before: float, held_before: float, before: str
) -> dict[str, object]:
    def figures(f1: float, ham: float) -> dict[str, float]:
        return {"precision": 0.9, "recall": 0.8, "f1": f1, "ham_false_positive_rate": ham}

    return {
        "candidate": figures(f1, held),
        "incumbent": figures(f1_before, held_before),
        "candidate_caught": figures(0.5, 0.0),
        "incumbent_caught": figures(0.5, 0.02),
        "incumbent_version": before,
    }


def test_model_page_before_any_retraining(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    html = client.get("/tuning/model").text
    assert "The base model shipped with Tipline is in use." in html
    assert "No retraining has run yet." in html
    assert "tipline checks retrain" in html
    assert "every 1 hour" in html


def test_model_page_shows_the_model_in_use_and_why_others_were_not(
    session: Session, client: FlaskClient, moderator: StaffUser
) -> None:
    at = utcnow() - timedelta(days=2)
    _model(
        session,
        "base-1",
        promoted=True,
        trained_on={"kind": "base"},
        metrics={
            "incumbent": {"f1": 0.8, "ham_false_positive_rate": 0.1},
            "incumbent_caught": {"ham_false_positive_rate": 0.02},
        },
        created_at=at,
    )
    _model(
        session,
        "local-20250101-000000",
        active=True,
        promoted=True,
        trained_on={
            "kind": "local",
            "from": "base-1",
            "local_spam": 12,
            "local_ham": 30,
            "held_out_spam": 3,
            "held_out_ham": 8,
            "canaries": 20,
        },
        metrics=_metrics(0.91, 0.0, 0.8, 0.1, "base-1"),
        created_at=at + timedelta(hours=1),
    )
    _model(
        session,
        "local-20250102-000000",
        trained_on={"kind": "local", "local_spam": 13, "local_ham": 30},
        metrics=_metrics(0.85, 0.0, 0.91, 0.0, "local-20250101-000000"),
        note="kept local-20250101-000000: F1 0.85 < 0.91",
        created_at=at + timedelta(hours=2),
    )
    login(client, "mod@example.org")
    html = client.get("/tuning/model").text
    in_use = html.split('id="in-use-heading"')[1].split('id="retraining-heading"')[0]
    assert "local-20250101-000000" in in_use
    assert "12 comments moderators marked as spam and 30 they published, added to base-1" in in_use
    assert "0.91" in in_use and "0.80" in in_use and "10%" in in_use
    history = html.split('id="history-heading"')[1]
    assert history.index("local-20250102-000000") < history.index("base-1")
    assert "Lower F1 than local-20250101-000000: 0.85 against 0.91." in history
    assert "In use" in history and "Base model" in history and "Not promoted" in history


def test_model_page_names_the_base_model_when_it_is_still_in_use(
    session: Session, client: FlaskClient, moderator: StaffUser
) -> None:
    _model(
        session,
        "base-7",
        promoted=True,
        trained_on={"kind": "base"},
        metrics={"incumbent": {"f1": 0.8, "ham_false_positive_rate": 0.05}},
    )
    _model(
        session,
        "local-20250102-000000",
        trained_on={"kind": "local"},
        metrics=_metrics(0.8, 0.1, 0.8, 0.05, "base-7"),
    )
    login(client, "mod@example.org")
    html = client.get("/tuning/model").text
    assert "The base model shipped with Tipline is in use (base-7)" in html
    assert "Holds more legitimate comments than base-7: 10% against 5%." in html


@pytest.mark.parametrize("path", ["/tuning/checks", "/tuning/false-positives", "/tuning/model"])
def test_every_staff_member_may_look_and_nobody_else(
    path: str, client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    response = client.get(path)
    assert response.status_code == 303 and response.location.startswith("/login")
    for role in Role:
        make_staff(f"{role.value}@example.org", role)
        login(client, f"{role.value}@example.org")
        page = client.get(path)
        assert page.status_code == 200, (role, page.status_code)
        assert 'href="/tuning/checks"' in page.text  # the nav link
        client.post("/logout", data={"csrf_token": _token(page.text)})


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_submission_page_names_the_spam_model_and_its_probability(
    session: Session, client: FlaskClient, comments: Comments
) -> None:
    submission = comments.add("Texto", [("links", V.ok)], held=S.pending)
    session.add(
        CheckResult(
            submission_id=submission.id,
            name="classifier",
            version="1",
            verdict=V.suspect,
            score=0.7312,
            reason="spam probability %(percent)d%% (model %(model)s)",
            reason_params={"percent": 73, "probability": 0.7312, "model": "local-20250101-000000"},
        )
    )
    session.commit()
    login(client, "mod@example.org")
    html = client.get(f"/submissions/{submission.id}").text
    assert "spam probability 73% (model local-20250101-000000)" in html
    assert "The spam model local-20250101-000000 gave it a spam probability of 0.73." in html
    assert 'href="/tuning/model"' in html
