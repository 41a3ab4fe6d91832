"""Settings and two-factor login in a real browser: an admin requires it, a moderator sets it up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core.enums import Role
from moderation.two_factor import STEP_SECONDS
from tests.e2e.conftest import (
    PASSWORD,
    LiveServer,
    Visitor,
    accessibility_problems,
    add_staff,
    log_in,
)

EN = "en-US"


def test_admin_requires_two_factor_and_a_moderator_sets_it_up(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    add_staff(session, "admin@example.org", Role.admin)
    add_staff(session, "mod@example.org", Role.moderator)
    t = staff_site.t

    admin = visitor(EN, bypass_csp=True)
    log_in(admin, staff_site, "admin@example.org")
    page = admin.page
    page.get_by_role("link", name="Settings", exact=True).click()
    problems = accessibility_problems(page, "settings")
    page.get_by_label(t(EN, "Reader reports that move a comment to the Reported queue")).fill("0")
    page.get_by_role("button", name=t(EN, "Save settings")).click()
    expect(page.get_by_text("Enter a number from 1 to 100.")).to_be_visible()
    problems += accessibility_problems(page, "settings with an error")
    page.get_by_label(t(EN, "Reader reports that move a comment to the Reported queue")).fill("2")
    page.get_by_label(t(EN, "Require two-factor login for every staff account")).check()
    page.get_by_role("button", name=t(EN, "Save settings")).click()
    # The admin has no second factor yet either: set-up comes first, for them too.
    expect(page.get_by_text(t(EN, "Settings saved."))).to_be_visible()
    assert page.url.endswith("/account/two-factor")
    problems += accessibility_problems(page, "two-factor set-up")

    mod = visitor(EN)
    page = mod.page
    log_in(mod, staff_site, "mod@example.org")
    page.goto(f"{staff_site.url}/queue")
    assert page.url.endswith("/account/two-factor")
    key = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", key)
    code_field = page.get_by_label(t(EN, "Code from your authenticator app"))
    code_field.fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name=t(EN, "Turn two-factor login on")).click()
    expect(page.get_by_text("Two-factor login is on: you will be asked")).to_be_visible()

    # Next time, the password alone is not enough.
    page.get_by_role("button", name=t(EN, "Log out")).click()
    page.get_by_label(t(EN, "E-mail")).fill("mod@example.org")
    page.get_by_label(t(EN, "Password")).fill(PASSWORD)
    page.get_by_role("button", name=t(EN, "Log in")).click()
    expect(
        page.get_by_text(
            t(EN, "Enter the 6-digit code your authenticator app shows for this site.")
        )
    ).to_be_visible()
    # The next step's code (accepted: clocks drift), so that it cannot be the one just used.
    page.get_by_label(t(EN, "Code from your authenticator app")).fill(
        pyotp.TOTP(key).at(time.time() + STEP_SECONDS)
    )
    page.get_by_role("button", name=t(EN, "Log in")).click()
    expect(page.get_by_role("button", name=t(EN, "Log out"))).to_be_visible()
    assert not mod.console_errors
    assert problems == [], "\n".join(problems)
