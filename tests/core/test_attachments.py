"""A tip's files: type by content, metadata removed from real files, encrypted on disk."""

from __future__ import annotations

import io
import stat
import statistics
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.dom.minidom import parseString

import mutagen.id3
import mutagen.mp3
import pikepdf
import pytest
from flask import Flask
from flask_babel import Babel
from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import attachments, limits, tipkeys
from core.attachments import CleanFile, Refused, Upload
from core.config import Settings
from core.enums import Kind, Status
from core.models import Attachment, Submission
from tests import support_files as files
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

AUTHOR = files.AUTHOR.encode()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are translated: clean() needs an app context, as in a request.
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def clean(name: str, data: bytes) -> CleanFile:
    return attachments.clean(Upload(name, data))


def unzipped(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_geotagged_photo_loses_gps_author_camera_comment_and_xmp_and_is_shown_upright() -> None:
    original = files.jpeg_with_gps(64, 48)
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(0x8825)[2] == files.GPS_LATITUDE  # it really has them

    cleaned = clean("IMG_2041.jpg", original)

    assert (cleaned.name, cleaned.content_type) == ("IMG_2041.jpg", "image/jpeg")
    for marker in (AUTHOR, files.CAMERA.encode(), b"xmpmeta", b"shot by"):
        assert marker in original and marker not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as after, Image.open(io.BytesIO(original)) as before:
        after.load()
        assert after.format == "JPEG"
        # Of the EXIF, only the orientation is left (tag 274), so it is still shown upright;
        # the compressed pixels are the original's, not re-encoded.
        assert dict(after.getexif()) == {0x0112: 6}
        assert after.getexif().get_ifd(0x8825) == {}
        assert after.tobytes() == before.convert(after.mode).tobytes()
        upright = ImageOps.exif_transpose(after)
        assert upright.size == (48, 64)
        corner = upright.getpixel((40, 5))  # the orange corner turned to the top right
        assert isinstance(corner, tuple) and corner[0] > 200


def test_a_progressive_jpeg_loses_what_follows_its_end_and_keeps_its_pixels() -> None:
    image = Image.new("RGB", (80, 60), "teal")
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x013B] = files.AUTHOR
    image.save(out, "JPEG", progressive=True, exif=exif, comment=b"Marker-Comentario")
    # Phones append more pictures (and their makers' records) after the end of the image.
    original = out.getvalue() + b"\xff\xd8 trailing record by " + AUTHOR + b"\xff\xd9"

    cleaned = clean("progresiva.jpg", original)

    assert cleaned.data.endswith(b"\xff\xd9") and AUTHOR not in cleaned.data
    assert b"Marker-Comentario" not in cleaned.data and b"Exif" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as after:
        after.load()
        assert after.size == (80, 60) and after.info.get("progressive")


def test_the_segment_walk_refuses_a_truncated_jpeg() -> None:
    # Segments claim more bytes than there are: the walk refuses (clean() then re-encodes).
    broken = bytearray(files.jpeg_with_gps(64, 48))
    with pytest.raises(ValueError):
        attachments.strip_jpeg(bytes(broken[:200]))
    assert attachments.strip_jpeg(bytes(broken)).startswith(b"\xff\xd8")


def test_a_png_loses_its_text_chunks_and_keeps_its_transparency() -> None:
    original = files.png_with_text()
    cleaned = clean("captura.png", original)
    assert b"tEXt" in original and b"tEXt" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.mode == "RGBA" and after.getpixel((0, 0)) == (255, 0, 0, 128)
        assert "Author" not in after.info


def test_a_pdf_loses_its_document_info_and_xmp_and_still_opens() -> None:
    original = files.pdf_with_author()
    markers = (b"Marker-Autora", b"Informe secreto", files.CAMERA.encode(), b"xmpmeta")
    for marker in markers:
        assert marker in original

    cleaned = clean("informe.pdf", original)

    assert cleaned.content_type == "application/pdf"
    for marker in markers:
        assert marker not in cleaned.data
    with pikepdf.open(io.BytesIO(cleaned.data)) as pdf:
        assert len(pdf.pages) == 1
        assert "/Metadata" not in pdf.Root
        assert dict(pdf.docinfo) == {}


def test_a_password_protected_pdf_is_refused_with_a_reason() -> None:
    out = io.BytesIO()
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(out, encryption=pikepdf.Encryption(user="secreto", owner="secreto"))
    with pytest.raises(Refused, match=r"«cerrado\.pdf»: the PDF is protected by a password"):
        clean("cerrado.pdf", out.getvalue())


def test_a_docx_loses_its_creator_company_reviser_and_the_gps_of_its_photos() -> None:
    original = files.docx_with_creator()
    parts_before = unzipped(original)
    assert AUTHOR in parts_before["docProps/core.xml"]

    cleaned = clean("contrato.docx", original)

    assert cleaned.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    parts = unzipped(cleaned.data)
    assert set(parts) == set(parts_before)
    for name, part in parts.items():
        assert AUTHOR not in part and files.CAMERA.encode() not in part, name
        if name.endswith((".xml", ".rels")):
            parseString(part)  # noqa: S318 (our own test file) every XML part is well-formed
    # The text is untouched; the tracked change is still there, without its author.
    assert files.DOCUMENT_TEXT.encode() in parts["word/document.xml"]
    assert b'w:author=""' in parts["word/document.xml"]
    with Image.open(io.BytesIO(parts["word/media/image1.jpeg"])) as photo:
        assert dict(photo.getexif()) == {0x0112: 6}  # the orientation alone
    with zipfile.ZipFile(io.BytesIO(cleaned.data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {attachments.ZIP_DATE}


def test_an_opendocument_loses_its_meta() -> None:
    cleaned = clean("acta.odt", files.odt_with_creator())
    assert cleaned.content_type == "application/vnd.oasis.opendocument.text"
    parts = unzipped(cleaned.data)
    assert AUTHOR not in parts["meta.xml"]
    with zipfile.ZipFile(io.BytesIO(cleaned.data)) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)


def test_a_document_with_macros_is_refused() -> None:
    original = io.BytesIO()
    with zipfile.ZipFile(original, "w") as archive:
        for name, part in unzipped(files.docx_with_creator()).items():
            archive.writestr(name, part)
        archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    with pytest.raises(Refused, match="documents with macros are not accepted"):
        clean("factura.docm", original.getvalue())


def test_an_mp3_loses_its_artist_and_title_and_still_plays() -> None:
    original = files.mp3_with_artist()
    cleaned = clean("reunion.mp3", original)
    assert cleaned.content_type == "audio/mpeg"
    assert AUTHOR not in cleaned.data and b"TPE1" not in cleaned.data
    audio = mutagen.mp3.MP3(io.BytesIO(cleaned.data))
    assert audio.tags is None and audio.info is not None and audio.info.bitrate == 128000
    assert cleaned.data == files.MP3_FRAME * 20


def test_an_m4a_loses_its_tags_and_location_and_keeps_every_offset() -> None:
    original = files.m4a_with_artist_and_location()
    cleaned = clean("nota de voz.m4a", original)
    assert cleaned.content_type == "audio/mp4"
    assert AUTHOR not in cleaned.data and b"+23.1367" not in cleaned.data
    assert len(cleaned.data) == len(original)  # blanked in place: chunk offsets stay valid
    assert cleaned.data.endswith(bytes(64))  # the sound data (mdat) is untouched
    # mvhd's creation and modification times are zeroed.
    mvhd = cleaned.data.index(b"mvhd")
    assert cleaned.data[mvhd + 8 : mvhd + 16] == bytes(8)


def test_a_webm_loses_its_title_and_tags() -> None:
    original = files.webm_with_title()
    cleaned = clean("video.webm", original)
    assert cleaned.content_type == "video/webm"
    assert AUTHOR not in cleaned.data and len(cleaned.data) == len(original)
    assert b"\x1f\x43\xb6\x75" in cleaned.data  # the cluster is still there


def test_a_wav_keeps_its_sound_and_loses_its_info() -> None:
    cleaned = clean("grabacion.wav", files.wav_with_info())
    assert AUTHOR not in cleaned.data and b"LIST" not in cleaned.data
    assert cleaned.data.endswith(bytes(800)) and b"fmt " in cleaned.data


@pytest.mark.parametrize(
    "content",
    [files.ELF, files.HTML, b"MZ\x90\x00" + bytes(200), b"%!PS-Adobe-3.0\n", b"PK\x03\x04"],
    ids=["program", "web page", "windows program", "postscript", "broken zip"],
)
def test_a_file_we_do_not_accept_is_refused_whatever_its_name(content: bytes) -> None:
    with pytest.raises(Refused) as refused:
        clean("foto.jpg", content)
    assert "«foto.jpg»" in str(refused.value)


def test_a_program_renamed_jpg_is_refused_with_the_accepted_types() -> None:
    with pytest.raises(Refused) as refused:
        clean("vacaciones.jpg", files.ELF)
    assert str(refused.value).startswith(
        "«vacaciones.jpg» is not a file type we accept: images (JPEG, PNG, GIF, WebP), PDF,"
    )


def test_a_zip_that_is_not_a_document_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("leeme.txt", "hola")
    with pytest.raises(Refused, match="not a document type we accept"):
        clean("documento.docx", out.getvalue())


def test_the_type_comes_from_the_content_and_the_name_gets_its_ending() -> None:
    png = clean("foto.jpg", files.png_with_text())
    assert (png.content_type, png.name) == ("image/png", "foto.jpg.png")
    text = clean("pagina.html", b"Hola, esto es texto.\n")
    assert (text.content_type, text.name) == ("text/plain; charset=utf-8", "pagina.html.txt")


def test_plain_text_is_kept_as_sent_but_not_with_nul_bytes() -> None:
    text = b"Lista de nombres:\n- Ana\n- Pedro\n"
    assert clean("lista.txt", text).data == text
    with pytest.raises(Refused):
        clean("lista.txt", b"uno\x00dos")


def test_names_lose_paths_and_control_characters() -> None:
    assert attachments.safe_name("C:\\Users\\rosa\\Desktop\\foto\x00.jpg") == "foto.jpg"
    assert attachments.safe_name('../../etc/"pass"\nwd') == "_pass_wd"
    assert attachments.safe_name("") == "file"
    assert len(attachments.safe_name("a" * 300 + ".pdf")) == attachments.NAME_MAX


def test_six_files_or_one_too_large_are_refused_before_reading() -> None:
    six = [(f"f{i}.txt", 10) for i in range(6)]
    assert attachments.check_sizes(six) == ["Send at most 5 files at once (you chose 6)."]
    big = [("video.mp4", limits.ATTACHMENT_BYTES_MAX + 1)]
    assert attachments.check_sizes(big) == [
        "«video.mp4» is too large: each file may be at most 20 MB."
    ]
    total = [(f"v{i}.mp4", limits.ATTACHMENT_BYTES_MAX) for i in range(3)]
    assert attachments.check_sizes(total) == [
        "The files together are too large: at most 50 MB at once."
    ]
    with pytest.raises(Refused, match="at most 5 files"):
        attachments.prepare([Upload(f"f{i}.txt", b"hola") for i in range(6)])


# --- stored, read back, deleted ----------------------------------------------------------------


def _tip(session: Session) -> Submission:
    tip = Submission(kind=Kind.tip, status=Status.new, sealed=b"x")
    session.add(tip)
    session.flush()
    return tip


def test_a_stored_file_is_encrypted_under_a_random_name_and_reads_back_cleaned(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    editor = make_editor_with_tip_key(session)
    key = tipkeys.current_public_key(session)
    assert key is not None
    cleaned = clean("Rosalía en la finca.jpg", files.jpeg_with_gps())
    tip = _tip(session)

    [path] = attachments.store(session, tmp_path, tip, [cleaned], key)
    session.commit()

    [row] = attachments.of_submission(session, tip.id)
    assert row.stored_name == path.name and len(path.name) == 32
    assert row.tip_key_id == key.id and row.size == path.stat().st_size
    on_disk = path.read_bytes()
    for secret in (cleaned.data[:64], cleaned.data[-64:], b"Rosal", "Rosalía".encode()):
        assert secret not in on_disk and secret not in row.sealed_meta
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    opened = attachments.read(keys, tmp_path, row)
    assert (opened.name, opened.content_type) == ("Rosalía en la finca.jpg", "image/jpeg")
    assert opened.data == cleaned.data
    [info] = attachments.describe(keys, [row])
    assert (info.name, info.label, info.size) == (opened.name, "JPEG image", len(cleaned.data))
    with pytest.raises(tipkeys.TipKeyError):
        attachments.read({key.id: bytes(32)}, tmp_path, row)

    attachments.delete(tmp_path, row)
    assert not path.exists()


def test_a_failed_store_leaves_no_file_behind(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    make_editor_with_tip_key(session)
    key = tipkeys.current_public_key(session)
    assert key is not None
    missing = Submission(id=987654, kind=Kind.tip, status=Status.new)  # never stored
    two = [clean("a.txt", b"uno\n"), clean("b.txt", b"dos\n")]

    with pytest.raises(IntegrityError):
        attachments.store(session, tmp_path, missing, two, key)
    session.rollback()

    assert list((tmp_path / attachments.FOLDER).iterdir()) == []
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_shredding_overwrites_before_unlinking(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"secreto" * 1000)
    with path.open("rb") as still_open:  # a reader holding it sees the overwrite
        attachments.shred(path)
        assert not path.exists()
        content = still_open.read()
    assert len(content) == 7000 and b"secreto" not in content


def test_cleaning_and_encrypting_a_megabyte_photo_takes_well_under_100_ms() -> None:
    photo = files.noisy_jpeg_with_gps(1300, 1000)
    assert 800_000 < len(photo) < 1_400_000
    key = tipkeys.PublicTipKey(1, bytes(tipkeys.PrivateKey.generate().public_key))
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        cleaned = clean("foto.jpg", photo)
        attachments.SecretBox(bytes(32)).encrypt(cleaned.data)
        tipkeys.seal_to(key, {"name": cleaned.name})
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.1, timings
