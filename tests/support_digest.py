"""Test helpers for digests: a day of desk work whose digest figures are known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import tipkeys
from core.db import utcnow
from core.enums import Kind, Role, Status
from core.models import Article, Attachment, AuditEvent, StaffUser, Submission, TipDetails, TipLabel
from core.staff import create_staff_user
from core.transitions import Change, change_many, change_status
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

S = Status
ANA, BEA, ED = "ana@example.org", "bea@example.org", "ed@example.org"
STAFF_PASSWORD = "correct horse battery"
# Written into every tip; none may appear in a digest.
TIP_MARKERS = (
    "TIPTEXT-4c1d-secreto",
    "TIPCONTACT-8e2f@fuente.example",
    "TIPNAME-b7a0-Maria",
    "TIPFILE-93d5-informe.pdf",
)
# Comments of the old article's, left waiting from 3 days ago.
OLD_DAYS = 3


@dataclass
class Sample:
    """The known day's accounts and the time it was arranged at."""

    now: datetime
    ana: StaffUser
    bea: StaffUser
    editor: StaffUser


class Desk:
    """Comments and tips moved through the real transitions, audit rows dated as told."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _date_last_row(self, submission: Submission, at: datetime) -> None:
        last = self.session.scalar(
            select(func.max(AuditEvent.id)).where(AuditEvent.submission_id == submission.id)
        )
        self.session.execute(update(AuditEvent).where(AuditEvent.id == last).values(at=at))
        self.session.commit()

    def article(self, slug: str, title: str) -> Article:
        """A new article."""
        article = Article(slug=slug, title=title)
        self.session.add(article)
        self.session.commit()
        return article

    def comment(self, article: Article, at: datetime, status: Status = S.received) -> Submission:
        """A comment created at `at` in `status`, with no audit row."""
        comment = Submission(
            kind=Kind.comment,
            status=status,
            article_id=article.id,
            author_name="Lector",
            body="Un comentario",
            created_at=at,
            updated_at=at,
        )
        self.session.add(comment)
        self.session.commit()
        return comment

    def arrive(self, article: Article, at: datetime, held: Status) -> Submission:
        """A comment received at `at` that the checks moved to `held` a minute later."""
        comment = self.comment(article, at)
        change = Change(comment.id, Kind.comment, S.received, held, comment.version)
        assert change_many(self.session, [change], actor=None, reason="checks", action="checks")
        self.session.commit()
        self._date_last_row(comment, at + timedelta(minutes=1))
        return comment

    def decide(self, comment: Submission, to: Status, by: StaffUser, at: datetime) -> None:
        """A person's decision, made through the real transition and dated `at`."""
        self.session.refresh(comment)
        change_status(self.session, comment, to, expected_version=comment.version, actor=by)
        self._date_last_row(comment, at)

    def tip(self, at: datetime, status: Status, labels: tuple[str, ...] = ()) -> Submission:
        """A sealed tip with a file, created at `at`; every secret field holds a marker."""
        key = tipkeys.current_public_key(self.session)
        assert key is not None
        text, contact, name, file_name = TIP_MARKERS
        tip = Submission(
            kind=Kind.tip,
            status=status,
            sealed=tipkeys.seal_to(key, {"text": text, "contact": contact, "name": name}),
            created_at=at,
            updated_at=at,
        )
        self.session.add_all(
            [tip, TipDetails(submission=tip, tip_key_id=key.id, last_activity_at=at)]
        )
        self.session.flush()
        self.session.add(
            Attachment(
                submission_id=tip.id,
                stored_name=f"f{tip.id}-{at.timestamp():.0f}",
                tip_key_id=key.id,
                sealed_meta=tipkeys.seal_to(key, {"name": file_name, "type": "application/pdf"}),
                size=1234,
            )
        )
        self.session.add_all(TipLabel(submission_id=tip.id, label=label) for label in labels)
        self.session.commit()
        return tip


def arrange_day(session: Session, now: datetime | None = None) -> Sample:
    """A known day of work in the 24 hours before `now` (see each line), and older work.

    In [now - 24 h, now): 12 new comments; the checks mark 3 spam, a person 1; Ana makes 3
    decisions (one publishes a comment the checks called spam: a false positive), Bea 1; 3 tips
    arrive (2 new, 1 in progress; labels elecciones ×2, salud ×1). Waiting now: 2 pending (the
    oldest since 3 days ago) and 1 reported.
    """
    now = now or utcnow()
    desk = Desk(session)
    editor = make_editor_with_tip_key(session, ED, EDITOR_PASSWORD)
    ana = create_staff_user(session, ANA, STAFF_PASSWORD, Role.moderator)
    bea = create_staff_user(session, BEA, STAFF_PASSWORD, Role.moderator)
    session.commit()

    old_day, arrived, decided = (
        now - timedelta(days=OLD_DAYS),
        now - timedelta(hours=20),
        now - timedelta(hours=10),
    )
    # Older work, outside the period: still waiting, or caught then.
    old = desk.article("viejo", "Un artículo viejo")
    desk.comment(old, old_day, S.pending)
    desk.comment(old, old_day, S.reported)
    for _ in range(5):
        desk.arrive(old, old_day, S.spam)
    desk.tip(old_day, S.new, ("viejo",))

    apagones = desk.article("apagones", "Apagones en La Habana")
    pan = desk.article("pan", "El precio del pan")
    transporte = desk.article("transporte", "Transporte urbano")
    # 4 on Apagones: Ana publishes one, rejects one, and publishes one the checks called spam.
    a1, a2 = desk.arrive(apagones, arrived, S.pending), desk.arrive(apagones, arrived, S.pending)
    a3 = desk.arrive(apagones, arrived, S.spam)
    desk.arrive(apagones, arrived, S.pending)  # still waiting
    desk.decide(a1, S.published, ana, decided)
    desk.decide(a2, S.rejected, ana, decided)
    desk.decide(a3, S.published, ana, decided)
    # 3 on the bread price: the checks mark two spam, Bea marks the third spam by hand.
    desk.arrive(pan, arrived, S.spam)
    desk.arrive(pan, arrived, S.spam)
    desk.decide(desk.arrive(pan, arrived, S.pending), S.spam, bea, decided)
    # 2 on transport and one each on three more articles, published by the checks.
    desk.arrive(transporte, arrived, S.published)
    desk.arrive(transporte, arrived, S.published)
    for slug, title in (("escuelas", "Escuelas"), ("hospital", "Hospitales"), ("zoo", "Zoológico")):
        desk.arrive(desk.article(slug, title), arrived, S.published)

    desk.tip(arrived, S.new, ("elecciones", "salud"))
    desk.tip(arrived, S.new, ("elecciones",))
    desk.tip(arrived, S.in_progress)
    return Sample(now=now, ana=ana, bea=bea, editor=editor)
