"""The Stats page: backlog, time to decision, decisions per person, spam caught, false positives."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Kind, Role, Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import Change, change_many, change_status
from moderation import charts
from moderation.stats import PERIODS, ModeratorLoad, percentile, period, stats
from tests.moderation.conftest import login

S = Status
MakeComment = Callable[..., Submission]


class Desk:
    """Comments moved through the real transitions, each audit row then dated as the test says."""

    def __init__(self, session: Session, make_comment: MakeComment) -> None:
        self.session = session
        self.make_comment = make_comment

    def _date_last_row(self, submission: Submission, at: datetime) -> None:
        last = self.session.scalar(
            select(func.max(AuditEvent.id)).where(AuditEvent.submission_id == submission.id)
        )
        self.session.execute(update(AuditEvent).where(AuditEvent.id == last).values(at=at))
        self.session.commit()

    def arrive(self, created: datetime, held: Status) -> Submission:
        """A comment received at `created` that the checks moved to `held` a minute later."""
        comment = self.make_comment(status=S.received, at=created)
        change = Change(comment.id, Kind.comment, S.received, held, comment.version)
        made = change_many(self.session, [change], actor=None, reason="checks", action="checks")
        assert made == [change]
        self.session.commit()
        self._date_last_row(comment, created + timedelta(minutes=1))
        return comment

    def decide(self, comment: Submission, to: Status, by: StaffUser, at: datetime) -> None:
        """A person's decision, made through the real transition and dated `at`."""
        self.session.refresh(comment)
        change_status(self.session, comment, to, expected_version=comment.version, actor=by)
        self._date_last_row(comment, at)


@pytest.fixture
def desk(session: Session, make_comment: MakeComment) -> Desk:
    return Desk(session, make_comment)


@pytest.fixture
def today() -> datetime:
    """The start of the current UTC day."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def sample(
    desk: Desk, today: datetime, moderator: StaffUser, make_staff: Callable[..., StaffUser]
) -> dict[str, Submission]:
    """Two days of work whose figures are known (see each line)."""
    ana, bea = moderator, make_staff("bea@example.org", Role.moderator)
    d2, d1 = today - timedelta(days=2), today - timedelta(days=1)
    minutes = timedelta(minutes=1)
    c: dict[str, Submission] = {}
    # Two days ago, 09:00: three held comments Ana decides in the same hour (10, 20, 30 min).
    for name, to, waited in (("c1", S.published, 10), ("c2", S.rejected, 20), ("c3", S.spam, 30)):
        c[name] = desk.arrive(d2 + timedelta(hours=9), S.pending)
        desk.decide(c[name], to, ana, d2 + timedelta(hours=9) + waited * minutes)
    # Held two days ago and still waiting.
    c["c10"] = desk.arrive(d2 + timedelta(hours=8), S.pending)
    # Published by the checks two days ago; Ana marks it spam by hand yesterday at 11:00.
    c["c9"] = desk.arrive(d2 + timedelta(hours=8), S.published)
    desk.decide(c["c9"], S.spam, ana, d1 + timedelta(hours=11))
    # Yesterday: Ana decides one after 100 min (10:40), Bea one after 40 min (09:40).
    c["c4"] = desk.arrive(d1 + timedelta(hours=9), S.pending)
    desk.decide(c["c4"], S.published, ana, d1 + timedelta(hours=9) + 100 * minutes)
    c["c5"] = desk.arrive(d1 + timedelta(hours=9), S.pending)
    desk.decide(c["c5"], S.published, bea, d1 + timedelta(hours=9) + 40 * minutes)
    # Yesterday: the checks catch three as spam; Bea publishes one of them (a false positive).
    for name in ("c6", "c7", "c8"):
        c[name] = desk.arrive(d1 + timedelta(hours=8), S.spam)
    desk.decide(c["c6"], S.published, bea, d1 + timedelta(hours=12))
    return c


def test_the_figures_of_a_known_week(session: Session, sample: dict[str, Submission]) -> None:
    figures = stats(session, PERIODS["7d"])
    assert len(figures.window.starts) == 7
    # Buckets: ..., two days ago (4), yesterday (5), today (6).
    assert figures.waiting_now == 1
    assert figures.backlog == [0, 0, 0, 0, 1, 1, 1]

    # Held comments decided from the queue: 10, 20, 30 min two days ago; 100 and 40 yesterday.
    # c6 waited in spam, not in the queue: it is not counted.
    assert figures.overall.count == 5
    assert figures.overall.median == pytest.approx(30 * 60)
    assert figures.overall.p90 == pytest.approx(76 * 60)  # 40 + 0.6 * (100 - 40)
    assert figures.times[4].median == pytest.approx(20 * 60)
    assert figures.times[4].p90 == pytest.approx(28 * 60)
    assert figures.times[5].median == pytest.approx(70 * 60)
    assert figures.times[6].count == 0 and figures.times[6].median is None
    assert not figures.capped

    assert figures.moderators == [
        ModeratorLoad("mod@example.org", decisions=5, active_hours=3),
        ModeratorLoad("bea@example.org", decisions=2, active_hours=2),
    ]
    assert figures.moderators[0].per_hour == pytest.approx(5 / 3)
    assert figures.decisions == 7

    assert figures.spam_auto == [0, 0, 0, 0, 0, 3, 0]
    # c3 from pending two days ago, c9 from published yesterday.
    assert figures.spam_by_hand == [0, 0, 0, 0, 1, 1, 0]
    assert figures.false_positives == [0, 0, 0, 0, 0, 1, 0]
    assert figures.false_positive_total == 1
    assert figures.false_positive_rate == pytest.approx(1 / 3)


def test_held_then_published_is_not_a_false_positive(
    session: Session, desk: Desk, moderator: StaffUser, today: datetime
) -> None:
    held = desk.arrive(today - timedelta(hours=5), S.pending)
    desk.decide(held, S.published, moderator, today - timedelta(hours=4))
    # Marked spam by hand, then published: the checks made no mistake either.
    by_hand = desk.arrive(today - timedelta(hours=5), S.pending)
    desk.decide(by_hand, S.spam, moderator, today - timedelta(hours=4))
    desk.decide(by_hand, S.published, moderator, today - timedelta(hours=3))
    figures = stats(session, PERIODS["30d"])
    assert figures.false_positive_total == 0 and sum(figures.false_positives) == 0
    assert figures.false_positive_rate is None
    assert sum(figures.spam_by_hand) == 1 and sum(figures.spam_auto) == 0


def test_the_last_24_hours_are_counted_by_hour(
    session: Session, desk: Desk, moderator: StaffUser
) -> None:
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    comment = desk.arrive(hour - timedelta(hours=3), S.pending)
    desk.decide(comment, S.published, moderator, hour - timedelta(hours=2, minutes=-30))
    old = desk.arrive(hour - timedelta(days=3), S.pending)
    desk.decide(old, S.rejected, moderator, hour - timedelta(days=2))
    figures = stats(session, PERIODS["24h"], now)
    assert len(figures.window.starts) == 24 and figures.window.starts[-1] == hour
    # Only the decision of the last 24 hours, 90 minutes after arrival, in the bucket 2 h ago.
    assert figures.overall.count == 1 and figures.overall.median == pytest.approx(90 * 60)
    assert figures.times[21].count == 1
    assert figures.moderators == [ModeratorLoad("mod@example.org", 1, 1)]
    # Waiting from 3 h ago (bucket 20) until the decision (bucket 21).
    assert figures.backlog[19:] == [0, 1, 0, 0, 0]


def test_percentiles_interpolate_like_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 100.0], 0.9) == pytest.approx(76.0)


def test_a_bad_period_falls_back_to_the_default() -> None:
    assert period("24h").buckets == 24 and period("30d").buckets == 30
    assert period("365d") is PERIODS["7d"] and period(None) is PERIODS["7d"]


def test_charts_draw_a_bar_per_value_and_a_point_per_bucket() -> None:
    labels = ["a", "b", "c", "d"]
    two = [charts.Series("x", "X", charts.BLUE), charts.Series("y", "Y", charts.ORANGE)]
    stacked = charts.columns(labels, two, [[1, 0, 3, 0], [2, 0, 1, 0]], "{:g}".format)
    assert len(stacked.rects) == 4  # no bar where a bucket has nothing
    first, second = stacked.rects[0], stacked.rects[1]
    assert second.height == pytest.approx(first.height * 2)
    assert second.y + second.height == pytest.approx(first.y)  # stacked on top
    assert [t.text for t in stacked.texts if t.anchor == "end"] == ["0", "1", "2", "3", "4"]

    line = charts.lines(labels, two, [[1, 2, None, 4], [None, None, None, None]], str)
    assert len(line.dots) == 3 and len(line.lines) == 1  # the gap ends the first run
    assert line.lines[0].points.count(",") == 2

    bars = charts.bars(["ana", "bea"], [2.0, 1.0], two[0], str)
    assert bars.rects[0].width == pytest.approx(bars.rects[1].width * 2)


def _figure(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg class="chart-svg" id="{chart_id}".*?</svg>', html, re.S)
    assert match, chart_id
    return match.group(0)


def test_the_page_shows_the_figures_and_draws_the_charts(
    client: FlaskClient, sample: dict[str, Submission]
) -> None:
    login(client, "mod@example.org")
    response = client.get("/stats?period=7d")
    assert response.status_code == 200
    html = response.text
    assert "No decisions in this period" not in html
    assert "median 30 min, 90th percentile 76 min, over 5 comments" in html
    row = re.search(r"<tr><th scope=\"row\">mod@example.org</th>(.*?)</tr>", html)
    assert row and re.findall(r"<td>(.*?)</td>", row.group(1)) == ["5", "3", "1.7"]
    assert "by the checks: 3; by hand (from pending, published or reported): 2" in html
    assert "published by a person: 1, that is 33.3%" in html

    backlog = _figure(html, "chart-backlog")
    assert backlog.count('class="point"') == 7 and 'role="img"' in backlog
    assert "<title>" in backlog and "aria-label=" in backlog
    times = _figure(html, "chart-times")
    assert times.count('class="point"') == 4  # median and p90 on the two days with decisions
    assert _figure(html, "chart-spam").count('class="bar"') == 3
    assert _figure(html, "chart-false-positives").count('class="bar"') == 1
    assert _figure(html, "chart-moderators").count('class="bar"') == 2
    # Each chart has its figures as a table; the CSP forbids inline styles and scripts.
    assert html.count("<summary>Show the figures as a table</summary>") == 4
    assert "style=" not in html and not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert '<option value="7d" selected>' in html
    assert 'href="/stats" aria-current="page"' in html


def test_an_empty_period_says_so(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    html = client.get("/stats?period=24h").text
    assert "No decisions in this period." in html
    assert _figure(html, "chart-backlog").count('class="point"') == 24
    assert 'id="chart-times"' not in html and 'id="chart-moderators"' not in html
    assert _figure(html, "chart-spam").count('class="bar"') == 0


@pytest.mark.parametrize("asked", ["bogus", "", "7", "30d%00", "<script>"])
def test_a_bad_period_shows_the_default(
    client: FlaskClient, moderator: StaffUser, asked: str
) -> None:
    login(client, "mod@example.org")
    response = client.get("/stats", query_string={"period": asked})
    assert response.status_code == 200
    assert '<option value="7d" selected>' in response.text


def test_logged_out_visitors_go_to_login(client: FlaskClient) -> None:
    response = client.get("/stats")
    assert response.status_code == 303 and response.location.startswith("/login")
