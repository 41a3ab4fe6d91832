"""Webhook endpoints as admins manage them: a secret each, enabled, disabled, deleted, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import DeliveryStatus, Role
from core.models import AuditEvent, StaffUser, WebhookDelivery, WebhookEndpoint
from core.staff import create_staff_user
from core.webhook_endpoints import (
    BadWebhookUrl,
    add_endpoint,
    check_url,
    delete_endpoint,
    is_insecure,
    list_endpoints,
    recent_deliveries,
    set_active,
)


@pytest.fixture
def admin(session: Session) -> StaffUser:
    """An admin account."""
    user = create_staff_user(session, "admin@example.org", "correct horse battery", Role.admin)
    session.commit()
    return user


def _audit(session: Session) -> list[str]:
    reasons = list(
        session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "webhook").order_by(AuditEvent.id)
        )
    )
    session.commit()
    return reasons


def test_an_endpoint_gets_a_fresh_secret_and_an_audit_row_without_it(
    session: Session, admin: StaffUser
) -> None:
    endpoint, secret = add_endpoint(session, "  https://cms.example.com/hooks/tipline ", admin)
    other, other_secret = add_endpoint(session, "https://cms.example.com/other", admin)

    assert secret.startswith("whsec_") and len(secret) > 40
    assert other_secret != secret
    assert endpoint.url == "https://cms.example.com/hooks/tipline"
    assert endpoint.active and endpoint.created_by_id == admin.id
    assert [e.id for e in list_endpoints(session)] == [other.id, endpoint.id]
    reasons = _audit(session)
    assert reasons == [
        "added https://cms.example.com/hooks/tipline",
        "added https://cms.example.com/other",
    ]
    assert all(secret not in reason and other_secret not in reason for reason in reasons)


@pytest.mark.parametrize(
    "url",
    ["", "ftp://example.com/x", "javascript:alert(1)", "https://", "https://u:p@example.com/"],
)
def test_urls_that_cannot_be_endpoints_are_refused(
    session: Session, admin: StaffUser, url: str
) -> None:
    with pytest.raises(BadWebhookUrl):
        add_endpoint(session, url, admin)
    session.rollback()
    assert list_endpoints(session) == []
    session.commit()


def test_plain_http_is_insecure_except_on_this_machine() -> None:
    assert is_insecure("http://cms.example.com/hook")
    assert not is_insecure("https://cms.example.com/hook")
    assert not is_insecure("http://localhost:8000/hook")
    assert not is_insecure("http://127.0.0.1/hook")
    assert check_url("http://localhost:8000/hook") == "http://localhost:8000/hook"


def test_disable_enable_and_delete_are_audited(session: Session, admin: StaffUser) -> None:
    endpoint, _ = add_endpoint(session, "https://cms.example.com/hook", admin)

    assert set_active(session, endpoint.id, False, admin)
    assert not set_active(session, endpoint.id, False, admin)  # no change, no audit row
    assert session.get(WebhookEndpoint, endpoint.id).active is False  # type: ignore[union-attr]
    assert set_active(session, endpoint.id, True, admin)
    assert delete_endpoint(session, endpoint.id, admin)
    assert not delete_endpoint(session, endpoint.id, admin)
    assert not set_active(session, 999_999, True, admin)

    assert list_endpoints(session) == []
    assert _audit(session) == [
        "added https://cms.example.com/hook",
        "disabled https://cms.example.com/hook",
        "enabled https://cms.example.com/hook",
        "deleted https://cms.example.com/hook",
    ]


def test_recent_deliveries_are_newest_first_with_their_url_and_error(
    session: Session, admin: StaffUser
) -> None:
    endpoint, _ = add_endpoint(session, "https://cms.example.com/hook", admin)
    now = utcnow()
    for n in range(3):
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event="comment.published",
                status=DeliveryStatus.failed if n == 2 else DeliveryStatus.sent,
                attempts=n + 1,
                last_error="HTTP 500 from the endpoint" if n == 2 else "",
                created_at=now,
            )
        )
    session.commit()

    rows = recent_deliveries(session, limit=2)
    session.commit()

    assert [(r.url, r.delivery.attempts, r.delivery.last_error) for r in rows] == [
        ("https://cms.example.com/hook", 3, "HTTP 500 from the endpoint"),
        ("https://cms.example.com/hook", 2, ""),
    ]
    # Deleting the endpoint takes its deliveries with it.
    delete_endpoint(session, endpoint.id, admin)
    assert recent_deliveries(session) == []
    session.commit()
