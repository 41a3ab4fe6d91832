"""Files with a tip: chosen without JavaScript, refused with a message, stored only cleaned."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import attachments, limits, tipkeys
from core.config import Settings
from core.models import Attachment, StaffUser
from tests import support_files as files
from tests.intake.helpers import TIP, html, submissions, token
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

EN = {"Accept-Language": "en"}


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the tip key (tips are refused until one exists)."""
    return make_editor_with_tip_key(session)


def stored_files(settings: Settings) -> set[str]:
    folder = settings.instance_path / attachments.FOLDER
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def attachment_rows(session: Session) -> list[Attachment]:
    session.expire_all()
    rows = list(session.scalars(select(Attachment).order_by(Attachment.id)))
    session.commit()
    return rows


def send(client: FlaskClient, *chosen: tuple[bytes, str]) -> tuple[int, str]:
    data: dict[str, object] = {"csrf_token": token(client), "text": TIP, "contact": "", "name": ""}
    data["files"] = [(io.BytesIO(content), name) for content, name in chosen]
    response = client.post("/tip", data=data, headers=EN, content_type="multipart/form-data")
    return response.status_code, html(response)


def test_the_form_takes_files_without_javascript_and_says_what_it_accepts(
    intake_client: FlaskClient,
) -> None:
    page = html(intake_client.get("/tip", headers=EN))
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file"' in page and "multiple" in page and 'name="files"' in page
    assert '<label class="field__label" for="files">Files (optional)</label>' in page
    assert 'aria-describedby="files-hint"' in page
    hint = page[page.index('id="files-hint"') :]
    for words in ("Up to 5 files", "20 MB each", "50 MB in all", "JPEG", "PDF", "MP4"):
        assert words in hint[:600]
    assert "We remove their metadata" in hint[:600]
    assert "does not take files yet" not in page


def test_files_sent_with_a_tip_are_stored_cleaned_and_encrypted(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session, editor: StaffUser
) -> None:
    before = stored_files(quiet_settings)
    photo, pdf = files.jpeg_with_gps(), files.pdf_with_author()

    status, _page = send(quiet_client, (photo, "Rosalía_GPS.jpg"), (pdf, "informe.pdf"))

    assert status == 303
    [tip] = submissions(session)
    rows = attachment_rows(session)
    assert [row.submission_id for row in rows] == [tip.id, tip.id]
    new = stored_files(quiet_settings) - before
    assert new == {row.stored_name for row in rows}
    folder = quiet_settings.instance_path / attachments.FOLDER
    for name in new:
        on_disk = (folder / name).read_bytes()
        for secret in (photo[:200], pdf[:200], b"Rosal", b"Marker-Autora", b"informe"):
            assert secret not in on_disk
    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    opened = [attachments.read(keys, quiet_settings.instance_path, row) for row in rows]
    assert [(f.name, f.content_type) for f in opened] == [
        ("Rosalía_GPS.jpg", "image/jpeg"),
        ("informe.pdf", "application/pdf"),
    ]
    with Image.open(io.BytesIO(opened[0].data)) as image:
        assert dict(image.getexif()) == {0x0112: 6}  # the orientation alone
    assert b"Marker-Autora" not in opened[1].data


def test_a_program_renamed_jpg_is_refused_with_a_message_and_nothing_is_stored(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session, editor: StaffUser
) -> None:
    before = stored_files(quiet_settings)

    status, page = send(quiet_client, (files.jpeg_with_gps(), "ok.jpg"), (files.ELF, "foto.jpg"))

    assert status == 422
    assert "«foto.jpg» is not a file type we accept: images (JPEG, PNG, GIF, WebP)" in page
    assert 'href="#files"' in page  # the error summary points at the field
    assert TIP in page  # what they wrote is still there
    assert submissions(session) == [] and attachment_rows(session) == []
    assert stored_files(quiet_settings) == before


def test_a_file_over_the_limit_is_refused_before_anything_is_stored(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session, editor: StaffUser
) -> None:
    before = stored_files(quiet_settings)
    too_big = files.jpeg_with_gps() + bytes(limits.ATTACHMENT_BYTES_MAX)

    status, page = send(quiet_client, (too_big, "video.jpg"))

    assert status == 422
    assert "«video.jpg» is too large: each file may be at most 20 MB." in page
    assert submissions(session) == [] and attachment_rows(session) == []
    assert stored_files(quiet_settings) == before


def test_six_files_are_refused(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session, editor: StaffUser
) -> None:
    status, page = send(quiet_client, *[(b"nota\n", f"nota{i}.txt") for i in range(6)])
    assert status == 422
    assert "Send at most 5 files at once (you chose 6)." in page
    assert submissions(session) == [] and attachment_rows(session) == []


def test_an_upload_beyond_the_request_limit_gets_the_413_page(
    quiet_client: FlaskClient, session: Session, editor: StaffUser
) -> None:
    huge = bytes(limits.ATTACHMENTS_TOTAL_BYTES_MAX + limits.INTAKE_MAX_REQUEST_BYTES)
    status, page = send(quiet_client, (huge, "todo.mp4"))
    assert status == 413
    assert "larger than we accept" in page
    assert submissions(session) == []


def test_a_tip_without_files_stores_none(
    quiet_client: FlaskClient, session: Session, editor: StaffUser, tmp_path: Path
) -> None:
    status, _page = send(quiet_client)
    assert status == 303
    assert len(submissions(session)) == 1
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_a_huge_text_sent_with_files_still_gets_the_413_page(
    quiet_client: FlaskClient, session: Session, editor: StaffUser
) -> None:
    # The larger request limit is for files: text fields keep the form's small one.
    data = {"csrf_token": token(quiet_client), "text": "x" * 1_000_000}
    data_files: dict[str, object] = {**data, "files": [(io.BytesIO(b"nota\n"), "nota.txt")]}
    response = quiet_client.post(
        "/tip", data=data_files, headers=EN, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert "larger than we accept" in html(response)
    assert submissions(session) == []
