"""A tip's files on the staff site: listed and downloaded, cleaned, by editors only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import attachments, tipkeys
from core.config import Settings
from core.enums import Role
from core.models import Attachment, AuditEvent, StaffUser, Submission
from intake.submissions import record_tip
from tests import support_files as files
from tests.moderation.conftest import PASSWORD, login
from tests.support_tips import make_editor_with_tip_key


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the tip key."""
    return make_editor_with_tip_key(session, "ed@example.org", PASSWORD)


def tip_with_files(
    session: Session, settings: Settings, *uploads: tuple[str, bytes]
) -> tuple[Submission, list[Attachment], list[attachments.CleanFile]]:
    """A stored tip with its files, as the public site stores them."""
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        cleaned = attachments.prepare([attachments.Upload(n, d) for n, d in uploads])
    tip = record_tip(session, settings, text="Hay papeles.", contact=None, name=None, commit=False)
    key = tipkeys.current_public_key(session)
    assert key is not None
    attachments.store(session, settings.instance_path, tip.details.submission, cleaned, key)
    session.commit()
    submission = tip.details.submission
    rows = attachments.of_submission(session, submission.id)
    # End the read transaction: on SQLite it would hold the write lock the login needs.
    session.commit()
    return submission, rows, cleaned


def test_an_editor_sees_the_files_and_downloads_the_cleaned_file(
    client: FlaskClient, session: Session, settings: Settings, editor: StaffUser
) -> None:
    tip, [photo, text], cleaned = tip_with_files(
        session,
        settings,
        ("Rosalía en la finca.jpg", files.jpeg_with_gps()),
        ("notas.html", b"solo texto, no una p\xc3\xa1gina\n"),
    )
    login(client, editor.email)

    page = client.get(f"/tips/{tip.id}").text
    assert "Rosalía en la finca.jpg" in page and "JPEG image" in page
    assert f'href="/tips/{tip.id}/files/{photo.id}"' in page

    response = client.get(f"/tips/{tip.id}/files/{photo.id}")

    assert response.status_code == 200
    assert response.data == cleaned[0].data and files.AUTHOR.encode() not in response.data
    assert response.mimetype == "image/jpeg"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Rosal%C3%ADa%20en%20la%20finca.jpg" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    text_file = client.get(f"/tips/{tip.id}/files/{text.id}")
    assert text_file.mimetype == "text/plain"
    assert "notas.html.txt" in text_file.headers["Content-Disposition"]
    # Each copy taken is in the audit log, under the editor's name, without the file's name.
    audit = session.execute(
        select(AuditEvent.actor_label, AuditEvent.submission_id, AuditEvent.reason).where(
            AuditEvent.action == "tip_file"
        )
    ).all()
    session.commit()
    assert [tuple(row) for row in audit] == [
        (editor.email, tip.id, f"file {photo.id}"),
        (editor.email, tip.id, f"file {text.id}"),
    ]


def test_a_moderator_cannot_download_a_tips_file(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    editor: StaffUser,
    make_staff: Callable[..., StaffUser],
) -> None:
    tip, [photo], _cleaned = tip_with_files(session, settings, ("a.jpg", files.jpeg_with_gps()))
    moderator = make_staff("mod@example.org", Role.moderator)
    login(client, moderator.email)
    response = client.get(f"/tips/{tip.id}/files/{photo.id}")
    assert response.status_code == 403
    assert files.AUTHOR.encode() not in response.data and b"\xff\xd8" not in response.data


def test_a_file_of_another_tip_is_not_found(
    client: FlaskClient, session: Session, settings: Settings, editor: StaffUser
) -> None:
    first, [photo], _cleaned = tip_with_files(session, settings, ("a.jpg", files.jpeg_with_gps()))
    second, _rows, _cleaned = tip_with_files(session, settings, ("b.txt", b"hola\n"))
    login(client, editor.email)
    assert client.get(f"/tips/{second.id}/files/{photo.id}").status_code == 404
    assert client.get(f"/tips/{first.id}/files/{photo.id + 100}").status_code == 404


def test_an_editor_whose_login_holds_no_tip_key_is_told_so(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    editor: StaffUser,
    make_staff: Callable[..., StaffUser],
) -> None:
    tip, [photo], _cleaned = tip_with_files(session, settings, ("a.jpg", files.jpeg_with_gps()))
    newcomer = make_staff("nuevo@example.org", Role.editor)  # never granted the key
    login(client, newcomer.email)

    response = client.get(f"/tips/{tip.id}/files/{photo.id}")

    assert response.status_code == 403
    assert "Your login holds no tip key, so this file cannot be opened." in response.text


def test_a_file_no_longer_on_disk_is_reported_not_crashed(
    client: FlaskClient, session: Session, settings: Settings, editor: StaffUser
) -> None:
    tip, [photo], _cleaned = tip_with_files(session, settings, ("a.txt", b"hola\n"))
    attachments.delete(settings.instance_path, photo)
    login(client, editor.email)
    response = client.get(f"/tips/{tip.id}/files/{photo.id}")
    assert response.status_code == 404
    assert "This file is no longer stored." in response.text
