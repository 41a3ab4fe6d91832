"""An admin manages a word list in a real browser, with JavaScript off: add, see, fix, remove."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import ListName, Role
from core.models import AuditEvent, ListEntry
from tests.e2e.conftest import (
    LOCALES,
    LiveServer,
    Visitor,
    accessibility_problems,
    add_staff,
    log_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("locale", LOCALES)
def test_admin_adds_a_suspect_word_sees_it_and_removes_it(
    locale: str,
    session: Session,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    add_staff(session, "admin@example.org", Role.admin)
    t = staff_site.t
    suspect = t(locale, "Suspect words")

    admin = visitor(locale, java_script_enabled=False)
    page = admin.page
    log_in(admin, staff_site, "admin@example.org")
    page.get_by_role("navigation", name=t(locale, "Queues")).get_by_role(
        "link", name=t(locale, "Lists"), exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Word and domain lists"))
    section = page.locator("section#suspect_words")
    expect(section.get_by_text(t(locale, "Nothing added yet."))).to_be_visible()

    # A blank form is refused with the reason next to the field.
    add_button = section.get_by_role("button", name=t(locale, "Add to %(list)s", list=suspect))
    add_button.click()
    field = page.locator("section#suspect_words").get_by_label(
        t(locale, "Add words or phrases to “%(list)s”", list=suspect)
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("section#suspect_words .field-error")).to_have_text(
        t(locale, "Enter at least one term, one per line.")
    )

    # Two terms at once, one per line.
    field.fill("r3cargas\npréstamo rápido")
    page.locator("section#suspect_words").get_by_role(
        "button", name=t(locale, "Add to %(list)s", list=suspect)
    ).click()
    added = t(
        locale, "Added to %(list)s: %(values)s.", list=suspect, values="r3cargas, préstamo rápido"
    )
    expect(page.get_by_role("status").first).to_have_text(added)
    table = page.locator("section#suspect_words table")
    expect(table.get_by_role("rowheader")).to_have_text(["r3cargas", "préstamo rápido"])
    expect(table).to_contain_text("admin@example.org")

    # The "try it" box shows how a disguised word is read and what it matches.
    page.get_by_role("textbox", name=t(locale, "Text to try")).fill("Oferta de R E C A R G A S hoy")
    page.get_by_role("button", name=t(locale, "Try it")).click()
    result = page.locator("#try-result")
    expect(result).to_contain_text("oferta de recargas hoy")
    expect(result).to_contain_text("r3cargas")

    # Remove one; the other stays.
    page.locator("section#suspect_words").get_by_role(
        "button", name=t(locale, "Remove %(value)s", value="r3cargas")
    ).click()
    removed = t(locale, "Removed from %(list)s: %(value)s.", list=suspect, value="r3cargas")
    expect(page.get_by_role("status").first).to_have_text(removed)
    expect(page.locator("section#suspect_words table").get_by_role("rowheader")).to_have_text(
        ["préstamo rápido"]
    )

    values = session.scalars(
        select(ListEntry.value).where(ListEntry.list == ListName.suspect_words)
    )
    assert list(values) == ["préstamo rápido"]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("list_%")).order_by(AuditEvent.id)
    )
    assert list(actions) == ["list_add", "list_add", "list_remove"]
    session.commit()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_lists_page_is_accessible_with_entries_errors_and_a_trial(
    locale: str,
    session: Session,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    admin_user = add_staff(session, "admin@example.org", Role.admin)
    session.add_all(
        [
            ListEntry(list=ListName.banned_words, value="recargas", created_by_id=admin_user.id),
            ListEntry(list=ListName.blocked_domains, value="promo-cuba.xyz"),
        ]
    )
    session.commit()
    t = staff_site.t
    admin = visitor(locale, bypass_csp=True)
    page = admin.page
    log_in(admin, staff_site, "admin@example.org")
    page.goto(f"{staff_site.url}/lists")
    problems = accessibility_problems(page, f"lists [{locale}]")

    section = page.locator("section#blocked_domains")
    blocked = t(locale, "Blocked domains")
    section.get_by_role("textbox", name=t(locale, "Add domains to “%(list)s”", list=blocked)).fill(
        "not a domain"
    )
    section.get_by_role("button", name=t(locale, "Add to %(list)s", list=blocked)).click()
    expect(page.locator("section#blocked_domains .field-error")).to_be_visible()
    problems += accessibility_problems(page, f"lists with an error [{locale}]")

    page.get_by_role("textbox", name=t(locale, "Text to try")).fill(
        "R3CARGAS en https://promo-cuba.xyz/x y bit.ly/y"
    )
    page.get_by_role("button", name=t(locale, "Try it")).click()
    expect(page.locator("#try-result")).to_contain_text("promo-cuba.xyz")
    problems += accessibility_problems(page, f"lists with a trial [{locale}]")
    assert not problems, "\n".join(problems)
