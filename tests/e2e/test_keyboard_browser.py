"""The queue by keyboard (j/k, a, r, s, x, shift+a, u, ?), bulk approve by mouse, and undo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Kind, ModerationMode, Role, Status
from core.models import AuditEvent, Submission
from tests.e2e.conftest import (
    LiveServer,
    Visitor,
    accessibility_problems,
    add_article,
    add_staff,
    log_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

S = Status


def add_comments(session: Session, count: int) -> list[int]:
    """`count` pending comments, oldest first (the order the pending queue lists them in)."""
    article = add_article(session, ModerationMode.pre)
    now = utcnow()
    comments = [
        Submission(
            kind=Kind.comment,
            status=Status.pending,
            article_id=article.id,
            author_name=f"Lector {i}",
            body=f"Comentario número {i}",
            created_at=now - timedelta(minutes=100 - i),
            updated_at=now,
        )
        for i in range(count)
    ]
    session.add_all(comments)
    session.commit()
    return [c.id for c in comments]


def statuses(session: Session, ids: list[int]) -> list[Status]:
    """The committed statuses of `ids`, in that order."""
    rows = session.execute(
        select(Submission.id, Submission.status).where(Submission.id.in_(ids))
    ).all()
    session.commit()  # end the read: on SQLite it would hold the write lock
    found = {row.id: row.status for row in rows}
    return [Status(found[i]) for i in ids]


def last_reason(session: Session, submission_id: int) -> str:
    """The reason of the last audited change of a submission."""
    reason = session.scalar(
        select(AuditEvent.reason)
        .where(AuditEvent.submission_id == submission_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    session.commit()
    return reason or ""


def focused(page: Page) -> str | None:
    """The submission id of the focused row, if a row has the focus."""
    value: str | None = page.evaluate(
        "() => document.activeElement && document.activeElement.getAttribute('data-submission-id')"
    )
    return value


def expect_focus(page: Page, submission_id: int) -> None:
    """Wait until the row of `submission_id` has the focus (decisions answer asynchronously)."""
    page.wait_for_function(
        "id => document.activeElement"
        " && document.activeElement.getAttribute('data-submission-id') === id",
        arg=str(submission_id),
    )
    assert focused(page) == str(submission_id)


def row(page: Page, submission_id: int) -> Locator:
    """The (undecided) row of a submission."""
    return page.locator(f'article.row[data-submission-id="{submission_id}"]')


def top(page: Page, submission_id: int) -> float:
    """Where a row (or its stub) starts on the page."""
    box = page.locator(f'[data-submission-id="{submission_id}"]').bounding_box()
    assert box is not None
    scroll: float = page.evaluate("() => window.scrollY")
    return box["y"] + scroll


def script_errors(user: Visitor) -> list[str]:
    """Console errors other than failed loads (Chromium asks for a /favicon.ico we lack)."""
    return [m for m in user.console_errors if not m.startswith("Failed to load resource")]


def wait_status(session: Session, submission_id: int, status: Status, page: Page) -> None:
    """Wait (in the page's event loop) until the submission has `status` in the database."""
    for _ in range(100):
        if statuses(session, [submission_id]) == [status]:
            return
        page.wait_for_timeout(100)
    assert statuses(session, [submission_id]) == [status]


def test_ten_comments_by_keyboard(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    ids = add_comments(session, 10)
    add_staff(session, "ana@example.org", Role.moderator)
    ana = visitor("en-US")
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")
    key = page.keyboard.press
    expect(page.get_by_text("Press ? to see the keyboard shortcuts.")).to_be_visible()

    # j/k move between rows.
    key("j")
    expect_focus(page, ids[0])
    key("j")
    expect_focus(page, ids[1])
    key("k")
    expect_focus(page, ids[0])

    # a approves in place: a stub takes the row's place and height, the focus moves on.
    below = top(page, ids[1])
    key("a")
    stub = page.locator(f'.row-stub[data-submission-id="{ids[0]}"]')
    expect(stub).to_contain_text("Saved: the comment is now Published.")
    expect(stub.get_by_role("button", name="Undo")).to_be_visible()
    expect_focus(page, ids[1])
    assert abs(top(page, ids[1]) - below) < 0.5  # the list did not jump
    wait_status(session, ids[0], S.published, page)

    # r asks for a reason; a common one plus details.
    key("r")
    dialog = page.get_by_role("dialog", name="Why reject this comment?")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Off-topic").check()
    dialog.get_by_label("Other reason or details").fill("repetido")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator(f'.row-stub[data-submission-id="{ids[1]}"]')).to_contain_text("Rejected")
    expect_focus(page, ids[2])
    wait_status(session, ids[1], S.rejected, page)
    assert last_reason(session, ids[1]) == "Off-topic: repetido"

    # s marks as spam; u takes it back and the row returns, focused, at the same place.
    where = top(page, ids[2])
    key("s")
    expect(page.locator(f'.row-stub[data-submission-id="{ids[2]}"]')).to_contain_text("Spam")
    expect_focus(page, ids[3])
    wait_status(session, ids[2], S.spam, page)
    key("u")
    expect(row(page, ids[2])).to_be_visible()
    expect(page.locator(f'.row-stub[data-submission-id="{ids[2]}"]')).to_have_count(0)
    expect_focus(page, ids[2])
    assert abs(top(page, ids[2]) - where) < 0.5
    wait_status(session, ids[2], S.pending, page)

    # Keys typed into a field are text, not commands.
    page.get_by_label("Reason (optional)").fill("")
    page.get_by_label("Reason (optional)").press("a")
    expect(page.get_by_label("Reason (optional)")).to_have_value("a")
    assert statuses(session, [ids[2]]) == [S.pending]
    page.get_by_label("Reason (optional)").fill("")

    # x selects three rows; shift+a approves them after one confirmation.
    page.locator(f'article.row[data-submission-id="{ids[2]}"]').focus()
    for submission_id in ids[3:6]:
        key("j")
        expect_focus(page, submission_id)
        key("x")
    key("Shift+A")
    confirm = page.get_by_role("dialog", name="Approve the selected comments?")
    expect(confirm).to_contain_text("Selected: 3")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("3 comments are now Published.")
    assert statuses(session, ids[3:6]) == [S.published] * 3

    # After the reload the rest: spam, three approvals, a cancelled rejection, an approval.
    key("j")
    expect_focus(page, ids[2])
    key("s")
    for submission_id in ids[6:9]:
        expect_focus(page, submission_id)
        key("a")
        expect(page.locator(f'.row-stub[data-submission-id="{submission_id}"]')).to_be_visible()
    expect_focus(page, ids[9])
    key("r")
    expect(page.get_by_role("dialog", name="Why reject this comment?")).to_be_visible()
    key("Escape")
    expect(page.get_by_role("dialog", name="Why reject this comment?")).to_be_hidden()
    expect_focus(page, ids[9])
    key("a")
    expect(page.locator(f'.row-stub[data-submission-id="{ids[9]}"]')).to_be_visible()
    wait_status(session, ids[9], S.published, page)
    assert statuses(session, ids) == [
        S.published,
        S.rejected,
        S.spam,
        S.published,
        S.published,
        S.published,
        S.published,
        S.published,
        S.published,
        S.published,
    ]

    # ? shows the keys and hides them again; the counts follow without a reload.
    key("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Approve the selected comments")
    key("?")
    expect(help_dialog).to_be_hidden()
    expect(page.locator('[data-count="comment-pending"] .count').first).to_have_text("0")
    assert script_errors(ana) == []


def test_slash_focuses_the_search_box_when_there_is_one(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    add_comments(session, 2)
    add_staff(session, "ana@example.org", Role.moderator)
    ana = visitor("en-US")
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")
    page.keyboard.press("/")
    if page.locator("#search").count():
        expect(page.locator("#search")).to_be_focused()
    else:
        assert page.evaluate("() => document.activeElement === document.body")
    assert script_errors(ana) == []


def test_bulk_approve_by_mouse(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    ids = add_comments(session, 4)
    add_staff(session, "ana@example.org", Role.moderator)
    ana = visitor("en-US")
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")

    # Nothing selected: the bar says so and nothing is sent.
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_role("alert")).to_have_text("Select at least one comment.")

    page.get_by_label("Select all on this page").check()
    page.locator(f'article.row[data-submission-id="{ids[3]}"]').get_by_label("Select").uncheck()
    page.get_by_role("button", name="Approve selected").click()
    confirm = page.get_by_role("dialog", name="Approve the selected comments?")
    expect(confirm).to_contain_text("Selected: 3")
    # Cancelling changes nothing.
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert statuses(session, ids) == [S.pending] * 4

    page.get_by_role("button", name="Approve selected").click()
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("3 comments are now Published.")
    assert statuses(session, ids) == [S.published] * 3 + [S.pending]
    expect(page.locator("article.row")).to_have_count(1)
    assert script_errors(ana) == []


def test_bulk_approve_without_javascript_confirms_on_a_page(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    ids = add_comments(session, 3)
    add_staff(session, "ana@example.org", Role.moderator)
    ana = visitor("en-US", java_script_enabled=False)
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")
    for submission_id in ids[:2]:
        page.locator(f'article.row[data-submission-id="{submission_id}"]').get_by_label(
            "Select"
        ).check()
    # The keys need the script: no hint about them.
    expect(page.get_by_text("Press ? to see the keyboard shortcuts.")).to_be_hidden()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve 2 comments?")
    assert statuses(session, ids) == [S.pending] * 3
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("2 comments are now Published.")
    assert statuses(session, ids) == [S.published, S.published, S.pending]


def test_undo_by_mouse_and_a_conflict_shown_in_the_row(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    ids = add_comments(session, 2)
    add_staff(session, "ana@example.org", Role.moderator)
    add_staff(session, "luis@example.org", Role.moderator)
    ana = visitor("en-US")
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")

    first = page.locator(f'article.row[data-submission-id="{ids[0]}"]')
    first.get_by_role("button", name="Spam").click()
    stub = page.locator(f'.row-stub[data-submission-id="{ids[0]}"]')
    expect(stub).to_contain_text("Saved: the comment is now Spam.")
    wait_status(session, ids[0], S.spam, page)
    stub.get_by_role("button", name="Undo").click()
    expect(first).to_be_visible()
    wait_status(session, ids[0], S.pending, page)
    # The restored row carries the new version: deciding it again works.
    first.get_by_role("button", name="Approve").click()
    expect(stub).to_contain_text("Published")
    wait_status(session, ids[0], S.published, page)

    # Luis decides the second comment while Ana's page still shows it.
    luis = visitor("en-US")
    log_in(luis, staff_site, "luis@example.org")
    luis.page.goto(f"{staff_site.url}/queue?status=pending")
    luis.page.locator(f'article.row[data-submission-id="{ids[1]}"]').get_by_role(
        "button", name="Reject"
    ).click()
    wait_status(session, ids[1], S.rejected, page)
    second = page.locator(f'article.row[data-submission-id="{ids[1]}"]')
    second.get_by_role("button", name="Approve").click()
    expect(second.get_by_role("alert")).to_contain_text("Already decided by luis@example.org")
    expect(second.get_by_role("button", name="Approve")).to_be_disabled()
    assert statuses(session, ids) == [S.published, S.rejected]
    assert script_errors(ana) == []


def test_the_desk_dialogs_and_the_confirmation_page_pass_axe(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    ids = add_comments(session, 2)
    add_staff(session, "ana@example.org", Role.moderator)
    # axe is injected inline, which the CSP forbids (see accessibility_problems).
    ana = visitor("es-ES", bypass_csp=True)
    log_in(ana, staff_site, "ana@example.org")
    page = ana.page
    page.goto(f"{staff_site.url}/queue?status=pending")
    problems: list[str] = []
    page.keyboard.press("?")
    expect(page.locator("#desk-help")).to_be_visible()
    problems += accessibility_problems(page, "help")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(page.locator("#desk-reason")).to_be_visible()
    problems += accessibility_problems(page, "reason picker")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator(f'.row-stub[data-submission-id="{ids[0]}"]')).to_be_visible()
    problems += accessibility_problems(page, "queue with a stub")
    page.locator(f'article.row[data-submission-id="{ids[1]}"] input[name=selected]').check()
    # The no-JS path: the bar's form posted without the script's confirm=1.
    page.evaluate(
        """() => {
            const form = document.getElementById('bulk-form');
            form.insertAdjacentHTML('beforeend', '<input type=hidden name=action value=spam>');
            form.submit();
        }"""
    )
    expect(page.locator("form.bulk-confirm")).to_be_visible()
    problems += accessibility_problems(page, "bulk confirmation")
    assert problems == [], "\n".join(problems)
