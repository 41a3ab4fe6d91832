"""A tip's files: recognised by content, cleaned of metadata, encrypted on disk, read back.

A file goes through three steps before anything is stored:

1. **Type by content.** puremagic (pure Python, so no system libmagic to install on every
   host) names the format from the file's first bytes; the file's name is never trusted.
   Zip containers are told apart by their inner files ([Content_Types].xml, mimetype).
2. **Cleaning.** Each accepted format has a cleaner that parses the file (which is also what
   proves it is what it claims to be) and writes it again without its metadata: images are
   re-encoded with Pillow, PDFs rewritten by pikepdf, office documents' property parts
   replaced, audio tags removed with mutagen, and MP4/QuickTime and Matroska metadata boxes
   blanked in place. A format we cannot clean is refused rather than stored with metadata.
3. **Encryption.** Each file gets a random key (SecretBox) and a random name in
   `<instance>/attachments/`; its name, type, size and key are sealed to the tip key in the
   Attachment row. The original name is never written anywhere in the clear.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import struct
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mutagen
import mutagen.apev2
import mutagen.flac
import mutagen.id3
import pikepdf
import puremagic
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from nacl.secret import SecretBox
from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits, tipkeys
from core.models import Attachment, Submission

FOLDER = "attachments"
NAME_MAX = 120  # characters of a file name kept for editors
# Images larger than this are refused: decoding one would take gigabytes (a pixel bomb).
IMAGE_PIXELS_MAX = 80_000_000
# An office document's zip may expand to at most this, in this many parts (a zip bomb).
ZIP_EXPANDED_MAX = 200 * 1024 * 1024
ZIP_MEMBERS_MAX = 5000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every rewritten part's time: the originals tell when and where

ACCEPTED = _l(
    "images (JPEG, PNG, GIF, WebP), PDF, plain text, office documents (Word, Excel, "
    "PowerPoint, OpenDocument), audio (MP3, OGG, M4A, AAC, WAV, FLAC) and video (MP4, WebM, "
    "MKV, MOV)"
)


class Refused(ValueError):
    """A file, or a set of files, cannot be taken; the message says why, for the sender."""


@dataclass(frozen=True)
class Upload:
    """A file as sent: its name (untrusted, for display only) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CleanFile:
    """A file cleaned of metadata, ready to be encrypted: safe name, MIME type, bytes."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OpenedFile:
    """A stored file read back for an editor."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FileInfo:
    """What an editor sees of a stored file before downloading it."""

    id: int
    name: str
    content_type: str
    label: str
    size: int


# --- checking and cleaning -------------------------------------------------------------------


def check_sizes(sizes: Sequence[tuple[str, int]]) -> list[str]:
    """Problems with the number and sizes of files (name, bytes) sent at once, before reading."""
    problems: list[str] = []
    if len(sizes) > limits.ATTACHMENTS_MAX:
        problems.append(
            _(
                "Send at most %(max)d files at once (you chose %(count)d).",
                max=limits.ATTACHMENTS_MAX,
                count=len(sizes),
            )
        )
    for name, size in sizes:
        if size > limits.ATTACHMENT_BYTES_MAX:
            problems.append(
                _(
                    "«%(name)s» is too large: each file may be at most %(max)s.",
                    name=safe_name(name),
                    max=human_size(limits.ATTACHMENT_BYTES_MAX),
                )
            )
        elif size == 0:
            problems.append(_("«%(name)s» is empty.", name=safe_name(name)))
    if sum(size for _name, size in sizes) > limits.ATTACHMENTS_TOTAL_BYTES_MAX:
        problems.append(
            _(
                "The files together are too large: at most %(max)s at once.",
                max=human_size(limits.ATTACHMENTS_TOTAL_BYTES_MAX),
            )
        )
    return problems


def prepare(uploads: Sequence[Upload]) -> list[CleanFile]:
    """Each upload recognised and cleaned; Refused with every problem found, one per line."""
    problems = check_sizes([(upload.name, len(upload.data)) for upload in uploads])
    if problems:
        raise Refused("\n".join(problems))
    cleaned: list[CleanFile] = []
    for upload in uploads:
        try:
            cleaned.append(clean(upload))
        except Refused as exc:
            problems.append(str(exc))
    if problems:
        raise Refused("\n".join(problems))
    return cleaned


def clean(upload: Upload) -> CleanFile:
    """One upload recognised by its content and cleaned of metadata; Refused if it cannot be."""
    name = safe_name(upload.name)
    fmt = detect(upload.data)
    if fmt is None:
        raise Refused(
            _(
                "«%(name)s» is not a file type we accept: %(accepted)s.",
                name=name,
                accepted=ACCEPTED,
            )
        )
    try:
        data, fmt = fmt.cleaner(upload.data, fmt)
    except Refused as exc:
        raise Refused(_("«%(name)s»: %(problem)s", name=name, problem=str(exc))) from None
    except Exception:  # any parser's failure on a malformed file: refused, never a 500
        raise Refused(
            _(
                "«%(name)s» could not be read as %(kind)s: it may be damaged.",
                name=name,
                kind=str(fmt.label),
            )
        ) from None
    return CleanFile(with_extension(name, fmt.extensions), fmt.mime, data)


@dataclass(frozen=True)
class Format:
    """An accepted format: its MIME type, what editors call it, its file name endings, cleaner."""

    mime: str
    label: LazyString  # translated when shown
    extensions: tuple[str, ...]
    cleaner: Callable[[bytes, Format], tuple[bytes, Format]]


def detect(data: bytes) -> Format | None:
    """The accepted format of `data` judged by its content, or None."""
    try:
        matches = puremagic.magic_string(data)
    except puremagic.PureError:
        matches = []
    if matches:
        # Only the most confident guesses count: a weak match must not let in a file that
        # a stronger one names as something we refuse (a web page, a program).
        best = max(match.confidence for match in matches)
        for match in matches:
            family = _FAMILIES.get(match.extension.lower().lstrip("."))
            if match.confidence == best and family is not None:
                return family
        return None
    return FORMATS["text"] if _is_plain_text(data) else None


def _is_plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "\x00" in text or any(ch in text for ch in map(chr, _CONTROL)):
        return False
    # Markup is refused even as text: saved as .html or .svg it would run in a browser.
    return not text.lstrip("\ufeff \t\r\n").startswith("<")


_CONTROL = [c for c in range(32) if c not in (9, 10, 12, 13)] + [127]


def safe_name(name: str) -> str:
    """A file name fit to show and to offer as a download: no path, controls or odd quotes."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name).strip().lstrip(".")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: NAME_MAX - len(ext) - 1] + "." + ext
        else:
            name = name[:NAME_MAX]
    return name or "file"


def with_extension(name: str, extensions: tuple[str, ...]) -> str:
    """`name`, with the format's usual ending added when it has another (x.html -> x.html.txt)."""
    if name.lower().endswith(tuple("." + ext for ext in extensions)):
        return name
    return f"{name}.{extensions[0]}"


def human_size(size: int) -> str:
    """A size in bytes as people read it: 812 bytes, 34 KB, 1.2 MB."""
    if size < 1024:
        return _("%(n)d bytes", n=size)
    if size < 1024 * 1024:
        return _("%(n)d KB", n=round(size / 1024))
    return _("%(n)s MB", n=f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip("."))


# --- images ----------------------------------------------------------------------------------

_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# What survives of an image's info: how to show it, nothing about who made it.
_IMAGE_KEEP = ("transparency", "duration", "loop", "background", "disposal")


def clean_image(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """The image without EXIF, XMP, IPTC or comments: a JPEG losslessly, others re-encoded."""
    expected = _PIL_FORMAT[fmt.mime]
    with Image.open(io.BytesIO(data), formats=[expected]) as original:
        width, height = original.size
        if width * height > IMAGE_PIXELS_MAX:
            raise Refused(_("the image is too large (%(w)d × %(h)d pixels).", w=width, h=height))
        if expected == "JPEG" and getattr(original, "n_frames", 1) == 1:
            try:
                return strip_jpeg(data), fmt
            except ValueError:
                pass  # not a JPEG we can walk segment by segment: re-encode it instead
        keep = {k: original.info[k] for k in _IMAGE_KEEP if k in original.info}
        out = io.BytesIO()
        if getattr(original, "n_frames", 1) > 1:
            frames = [frame.copy() for frame in ImageSequence.Iterator(original)]
            for frame in frames:
                frame.info = {}
            frames[0].save(
                out, expected, save_all=True, append_images=frames[1:], **_frame_options(keep)
            )
        else:
            options: dict[str, object] = {}
            if expected == "JPEG":
                # The original's quantisation tables keep the quality as it was.
                assert isinstance(original, JpegImagePlugin.JpegImageFile)
                options = {"qtables": original.quantization}
                sampling = JpegImagePlugin.get_sampling(original)
                if sampling != -1:
                    options["subsampling"] = sampling
            elif expected == "WEBP":
                options = {"quality": 90}
            elif "transparency" in keep:
                options = {"transparency": keep["transparency"]}
            upright = ImageOps.exif_transpose(original)
            # Pillow falls back to an image's own info for some chunks (PNG's ICC profile,
            # GIF's comment): an empty info leaves it nothing to carry over.
            upright.info = {}
            upright.save(out, expected, **options)
    return out.getvalue(), fmt


# JPEG markers: start and end of image, start of scan, restarts, and the metadata segments.
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_RESTARTS = range(0xD0, 0xD8)
_APP0, _APP1, _APP14, _COM = 0xE0, 0xE1, 0xEE, 0xFE
_ORIENTATION = 0x0112


def strip_jpeg(data: bytes) -> bytes:
    """A JPEG with its metadata segments removed, its compressed pixels untouched.

    Decoding and re-encoding a 4-megapixel photo takes ~30 ms and loses a little quality; this
    walks the segments instead (~0.1 ms). Every APPn segment goes (EXIF with its GPS, camera
    and thumbnail, XMP, IPTC/Photoshop, ICC profiles that name devices, MPF), and so do comments
    and whatever follows the end of the image (phones append more pictures and their own
    records there). Kept: a bare JFIF header, Adobe's colour-transform segment (without it CMYK
    and some RGB files decode with wrong colours), and the orientation alone, as a minimal EXIF
    segment, so the photo is still shown upright. ValueError for a file it cannot walk.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    orientation = 1
    pos, end = 2, len(data)
    while True:
        if pos + 2 > end or data[pos] != 0xFF:
            raise ValueError("truncated or malformed JPEG")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            out += b"\xff\xd9"
            break
        if marker in _RESTARTS or marker == 0x01:
            out += data[pos : pos + 2]
            pos += 2
            continue
        if pos + 4 > end:
            raise ValueError("truncated JPEG")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment_end = pos + 2 + length
        if length < 2 or segment_end > end:
            raise ValueError("malformed JPEG segment")
        payload = data[pos + 4 : segment_end]
        if marker == _SOS:
            scan_end = _scan_end(data, segment_end)
            out += data[pos:scan_end]
            pos = scan_end
            continue
        if _APP0 <= marker <= 0xEF or marker == _COM:
            if marker == _APP1 and payload.startswith(b"Exif\x00\x00"):
                orientation = _orientation(payload) or orientation
            elif marker == _APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
                # Version, density and units; its thumbnail (if any) is dropped.
                out += b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00"
            elif marker == _APP14 and payload.startswith(b"Adobe"):
                out += data[pos:segment_end]
            pos = segment_end
            continue
        out += data[pos:segment_end]
        pos = segment_end
    if orientation != 1:
        exif = Image.Exif()
        exif[_ORIENTATION] = orientation
        segment = exif.tobytes()  # starts with b"Exif\0\0"
        out[2:2] = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    return bytes(out)


def _scan_end(data: bytes, pos: int) -> int:
    """Where a scan's compressed data ends: the next marker that is not a stuffed byte or RST."""
    end = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos == -1 or pos + 1 >= end:
            raise ValueError("a scan without an end")
        following = data[pos + 1]
        if following == 0x00 or following in _RESTARTS or following == 0xFF:
            pos += 1
            continue
        return pos


def _orientation(payload: bytes) -> int | None:
    exif = Image.Exif()
    try:
        exif.load(payload)
    except (SyntaxError, ValueError, struct.error, OSError, IndexError, KeyError):
        return None
    value = exif.get(_ORIENTATION)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _frame_options(keep: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in keep.items() if k in ("duration", "loop", "disposal", "transparency")}


# --- PDF -------------------------------------------------------------------------------------


def clean_pdf(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """The PDF rewritten without its document info, XMP metadata or editors' private data."""
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise Refused(_("the PDF is protected by a password. Send it without one.")) from None
    with pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        for obj in [pdf.Root, *pdf.objects]:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                for key in ("/Metadata", "/PieceInfo"):
                    if key in obj:
                        del obj[key]
        out = io.BytesIO()
        # Saving writes only reachable objects: earlier revisions' info goes too. The file's
        # /ID is derived from its content, not from when and where it was first written.
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    return out.getvalue(), fmt


# --- office documents ------------------------------------------------------------------------

_OOXML_MAIN = {
    "word/document.xml": "docx",
    "xl/workbook.xml": "xlsx",
    "ppt/presentation.xml": "pptx",
}
_ODF_MIME = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_NEUTRAL = {
    "docProps/core.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms='
    b'"http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>',
    "docProps/app.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"/>',
    "docProps/custom.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'custom-properties"/>',
    "meta.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    b'office:version="1.2"><office:meta/></office:document-meta>',
}
# Who wrote a comment or a tracked change, in Word, Excel and PowerPoint parts.
_AUTHOR_ATTRIBUTES = re.compile(rb'(\s(?:\w+:)?(?:author|initials|userId|providerId))="[^"]*"')
_AUTHOR_ELEMENTS = re.compile(rb"<(author|dc:creator)>[^<]*</\1>")
_PERSON_NAMES = re.compile(rb'(\s(?:name|displayName))="[^"]*"')
_ODF_PRINTER = re.compile(
    rb'(<config:config-item config:name="Printer(?:Name|Setup)"[^>]*>)[^<]*(</config:config-item>)'
)
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def office_kind(names: Sequence[str], archive: zipfile.ZipFile) -> str | None:
    """docx, xlsx, pptx, odt, ods or odp from the zip's inner files; None for other zips."""
    if names and names[0] == "mimetype":
        return _ODF_MIME.get(archive.read("mimetype").decode("ascii", "replace").strip())
    if "[Content_Types].xml" in names:
        for part, kind in _OOXML_MAIN.items():
            if part in names:
                return kind
    return None


def clean_office(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """The document's zip rewritten with empty properties, no authors and clean images."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > ZIP_MEMBERS_MAX or sum(i.file_size for i in infos) > ZIP_EXPANDED_MAX:
            raise Refused(_("the document expands to more than we can check."))
        if any(info.flag_bits & 0x1 for info in infos):
            raise Refused(_("the document is protected by a password. Send it without one."))
        names = [info.filename for info in infos]
        kind = office_kind(names, archive)
        if kind is None:
            raise Refused(
                _("this archive is not a document type we accept: %(accepted)s.", accepted=ACCEPTED)
            )
        if any(
            n.lower().endswith("vbaproject.bin") or n.startswith(("Basic/", "Scripts/"))
            for n in names
        ):
            # Macros would run on an editor's computer: the file could attack the newsroom.
            raise Refused(_("documents with macros are not accepted. Save it without them."))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
            for info in infos:
                if info.is_dir():
                    continue
                part = _clean_part(info.filename, archive.read(info))
                entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
                # ODF needs its mimetype first and uncompressed.
                entry.compress_type = (
                    zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
                )
                rewritten.writestr(entry, part)
    return out.getvalue(), FORMATS[kind]


def _clean_part(name: str, part: bytes) -> bytes:
    if name in _NEUTRAL:
        return _NEUTRAL[name]
    lower = name.lower()
    if lower.endswith(".xml"):
        part = _AUTHOR_ATTRIBUTES.sub(rb'\1=""', part)
        part = _AUTHOR_ELEMENTS.sub(rb"<\1></\1>", part)
        if lower.endswith(("commentauthors.xml", "people.xml")) or "/persons/" in lower:
            part = _PERSON_NAMES.sub(rb'\1=""', part)
        if name == "settings.xml":
            part = _ODF_PRINTER.sub(rb"\1\2", part)
        return part
    if lower.endswith(_IMAGE_ENDINGS):
        # Pictures pasted into a document keep their own EXIF and GPS tags.
        embedded = detect(part)
        if embedded is not None and embedded.cleaner is clean_image:
            return clean_image(part, embedded)[0]
    return part


def clean_zip(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """A zip is accepted only as an office document."""
    return clean_office(data, fmt)


# --- audio -----------------------------------------------------------------------------------


def clean_tagged_audio(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """MP3, AAC, OGG or FLAC without ID3, APE or Vorbis tags and embedded pictures."""
    buffer = io.BytesIO(data)
    if fmt.mime in ("audio/mpeg", "audio/aac"):
        mutagen.id3.delete(buffer)
        mutagen.apev2.delete(buffer)
        cleaned = buffer.getvalue()
        if fmt.mime == "audio/mpeg":
            buffer.seek(0)
            if mutagen.File(buffer) is None:
                raise ValueError("not an MP3 stream")
        elif not (len(cleaned) > 1 and cleaned[0] == 0xFF and cleaned[1] & 0xF0 == 0xF0):
            raise ValueError("not an ADTS stream")
        return cleaned, fmt
    audio = mutagen.File(buffer)
    if audio is None:
        raise ValueError("not a tagged audio file")
    if isinstance(audio, mutagen.flac.FLAC):
        audio.clear_pictures()
        if isinstance(audio.tags, mutagen.flac.VCFLACDict):
            audio.tags.clear()
        buffer.seek(0)
        audio.save(buffer, deleteid3=True)
    else:
        buffer.seek(0)
        audio.delete(buffer)
    return buffer.getvalue(), fmt


def clean_wav(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """The WAV rebuilt from its format and sound chunks only (no LIST/INFO, bext, iXML, ID3)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not RIFF WAVE")
    kept: list[bytes] = []
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id in (b"fmt ", b"data", b"fact"):
            kept.append(chunk_id + len(body).to_bytes(4, "little") + body + b"\0" * (len(body) % 2))
        pos += 8 + size + size % 2
    if not kept or kept[0][:4] != b"fmt " or not any(c[:4] == b"data" for c in kept):
        raise ValueError("no fmt or data chunk")
    body = b"WAVE" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body, fmt


# --- MP4, M4A, QuickTime ---------------------------------------------------------------------

# Boxes holding metadata (iTunes tags, Apple's location and device keys, XMP): renamed `free`
# and zeroed, so every offset in the file stays valid and players skip them.
_BMFF_BLANK = {b"udta", b"meta", b"uuid", b"XMP_"}
_BMFF_DESCEND = {b"moov", b"trak", b"mdia", b"minf", b"edts"}
_BMFF_TIMES = {b"mvhd", b"tkhd", b"mdhd"}  # their creation and modification times are zeroed
_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
}
_HEIF_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"}


def clean_bmff(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """An MP4, M4A, 3GP or QuickTime file with metadata boxes blanked and times zeroed."""
    buffer = bytearray(data)
    boxes = list(_boxes(buffer, 0, len(buffer)))
    types = [box_type for box_type, _start, _body, _end in boxes]
    if b"ftyp" not in types or b"moov" not in types:
        raise ValueError("no ftyp or moov box")
    _start, body, _end = next((s, b, e) for t, s, b, e in boxes if t == b"ftyp")
    brand = bytes(buffer[body : body + 4])
    if brand in _HEIF_BRANDS:
        raise Refused(_("HEIC and AVIF photos are not accepted yet. Send them as JPEG."))
    _blank_boxes(buffer, boxes)
    mime = _BRANDS.get(brand, "video/mp4")
    return bytes(buffer), FORMATS[mime]


def _boxes(buffer: bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, start, body start, end) of each box between start and end."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(buffer[pos : pos + 4], "big")
        box_type = bytes(buffer[pos + 4 : pos + 8])
        header = 8
        if size == 1:
            size = int.from_bytes(buffer[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError("box overruns its parent")
        yield box_type, pos, pos + header, pos + size
        pos += size


def _blank_boxes(buffer: bytearray, boxes: Sequence[tuple[bytes, int, int, int]]) -> None:
    for box_type, start, body, end in boxes:
        if box_type in _BMFF_BLANK:
            buffer[start + 4 : start + 8] = b"free"
            buffer[body:end] = bytes(end - body)
        elif box_type in _BMFF_DESCEND:
            _blank_boxes(buffer, list(_boxes(buffer, body, end)))
        elif box_type in _BMFF_TIMES and end - body >= 20:
            width = 8 if buffer[body] == 1 else 4
            buffer[body + 4 : body + 4 + 2 * width] = bytes(2 * width)


# --- WebM, Matroska --------------------------------------------------------------------------

_EBML_HEADER, _SEGMENT, _CLUSTER, _INFO = 0x1A45DFA3, 0x18538067, 0x1F43B675, 0x1549A966
_DOCTYPE = 0x4282
_TOP_LEVEL = {
    0x114D9B74,
    _INFO,
    0x1654AE6B,
    _CLUSTER,
    0x1C53BB6B,
    0x1941A469,
    0x1043A770,
    0x1254C367,
}
# Tags and attached files go whole; of the segment's info, the title and the date it was made.
_EBML_BLANK = {0x1254C367, 0x1941A469}
_INFO_BLANK = {0x7BA9, 0x4461}


def clean_matroska(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """A WebM or Matroska file with tags, attachments, title and date overwritten by Void."""
    buffer = bytearray(data)
    element, body, end = _ebml_element(buffer, 0)
    if element != _EBML_HEADER:
        raise ValueError("no EBML header")
    doctype = b""
    pos = body
    while pos < end:
        child, child_body, child_end = _ebml_element(buffer, pos)
        if child == _DOCTYPE:
            doctype = bytes(buffer[child_body:child_end])
        pos = child_end
    if doctype not in (b"webm", b"matroska"):
        raise ValueError("not WebM or Matroska")
    segment, pos, segment_end = _ebml_element(buffer, end)
    if segment != _SEGMENT:
        raise ValueError("no segment")
    while pos < segment_end:
        child, child_body, child_end = _ebml_element(buffer, pos)
        if child_end == -1:  # a cluster of unknown size (live recordings): walk its blocks
            child_end = _unknown_size_end(buffer, child_body, segment_end)
        if child in _EBML_BLANK:
            _void(buffer, pos, child_end)
        elif child == _INFO:
            inner = child_body
            while inner < child_end:
                grandchild, _b, grandchild_end = _ebml_element(buffer, inner)
                if grandchild in _INFO_BLANK:
                    _void(buffer, inner, grandchild_end)
                inner = grandchild_end
        pos = child_end
    mime = "video/webm" if doctype == b"webm" else "video/x-matroska"
    return bytes(buffer), FORMATS[mime]


def _vint(buffer: bytearray, pos: int, keep_marker: bool) -> tuple[int, int, bool]:
    first = buffer[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(buffer):
        raise ValueError("bad EBML number")
    value = int.from_bytes(buffer[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def _ebml_element(buffer: bytearray, pos: int) -> tuple[int, int, int]:
    """(id, body start, end) of the element at pos; end is -1 for an unknown size."""
    element, id_length, _unknown = _vint(buffer, pos, keep_marker=True)
    size, size_length, unknown = _vint(buffer, pos + id_length, keep_marker=False)
    body = pos + id_length + size_length
    if unknown:
        return element, body, -1 if element == _CLUSTER else len(buffer)
    if body + size > len(buffer):
        raise ValueError("element overruns the file")
    return element, body, body + size


def _unknown_size_end(buffer: bytearray, pos: int, limit: int) -> int:
    while pos < limit:
        element, _body, end = _ebml_element(buffer, pos)
        if element in _TOP_LEVEL or end == -1:
            return pos
        pos = end
    return limit


def _void(buffer: bytearray, start: int, end: int) -> None:
    # A Void element (0xEC) of exactly the same length: offsets in the seek head stay right.
    total = end - start
    width = min(8, total - 1)
    size = total - 1 - width
    buffer[start:end] = b"\xec" + ((1 << (7 * width)) | size).to_bytes(width, "big") + bytes(size)


def keep_text(data: bytes, fmt: Format) -> tuple[bytes, Format]:
    """Plain text carries no metadata: it is kept as sent."""
    return data, fmt


def _formats() -> dict[str, Format]:
    rows = [
        ("image/jpeg", _l("JPEG image"), ("jpg", "jpeg"), clean_image),
        ("image/png", _l("PNG image"), ("png",), clean_image),
        ("image/gif", _l("GIF image"), ("gif",), clean_image),
        ("image/webp", _l("WebP image"), ("webp",), clean_image),
        ("application/pdf", _l("PDF document"), ("pdf",), clean_pdf),
        ("text/plain; charset=utf-8", _l("Plain text"), ("txt", "text", "md", "csv"), keep_text),
        ("application/zip", _l("Office document"), ("zip",), clean_zip),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _l("Word document"),
            ("docx",),
            clean_office,
        ),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _l("Excel spreadsheet"),
            ("xlsx",),
            clean_office,
        ),
        (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            _l("PowerPoint presentation"),
            ("pptx",),
            clean_office,
        ),
        (
            "application/vnd.oasis.opendocument.text",
            _l("OpenDocument text"),
            ("odt",),
            clean_office,
        ),
        (
            "application/vnd.oasis.opendocument.spreadsheet",
            _l("OpenDocument spreadsheet"),
            ("ods",),
            clean_office,
        ),
        (
            "application/vnd.oasis.opendocument.presentation",
            _l("OpenDocument presentation"),
            ("odp",),
            clean_office,
        ),
        ("audio/mpeg", _l("MP3 audio"), ("mp3",), clean_tagged_audio),
        ("audio/aac", _l("AAC audio"), ("aac",), clean_tagged_audio),
        ("audio/ogg", _l("OGG audio"), ("ogg", "oga", "opus"), clean_tagged_audio),
        ("audio/flac", _l("FLAC audio"), ("flac",), clean_tagged_audio),
        ("audio/wav", _l("WAV audio"), ("wav",), clean_wav),
        ("audio/mp4", _l("M4A audio"), ("m4a", "m4b"), clean_bmff),
        ("video/mp4", _l("MP4 video"), ("mp4", "m4v"), clean_bmff),
        ("video/quicktime", _l("QuickTime video"), ("mov",), clean_bmff),
        ("video/3gpp", _l("3GP video"), ("3gp",), clean_bmff),
        ("video/webm", _l("WebM video"), ("webm",), clean_matroska),
        ("video/x-matroska", _l("Matroska video"), ("mkv", "mka"), clean_matroska),
    ]
    formats = {mime: Format(mime, label, exts, cleaner) for mime, label, exts, cleaner in rows}
    # Keyed by MIME, and by short names the module uses.
    formats.update({fmt.extensions[0]: fmt for fmt in formats.values()})
    formats["text"] = formats["text/plain; charset=utf-8"]
    return formats


FORMATS: dict[str, Format] = _formats()

# puremagic's extensions for each accepted family; zips and ISO boxes are told apart later.
_FAMILIES: dict[str, Format] = {
    **{ext: FORMATS["image/jpeg"] for ext in ("jpg", "jpeg", "jpe", "jfif")},
    "png": FORMATS["image/png"],
    "gif": FORMATS["image/gif"],
    "webp": FORMATS["image/webp"],
    "pdf": FORMATS["application/pdf"],
    **{
        ext: FORMATS["application/zip"]
        for ext in ("zip", "docx", "xlsx", "pptx", "odt", "ods", "odp")
    },
    **{ext: FORMATS["audio/mpeg"] for ext in ("mp3", "mpga")},
    "aac": FORMATS["audio/aac"],
    **{ext: FORMATS["audio/ogg"] for ext in ("ogg", "oga", "ogv", "opus", "spx")},
    "flac": FORMATS["audio/flac"],
    "wav": FORMATS["audio/wav"],
    **{
        ext: FORMATS["video/mp4"]
        for ext in ("mp4", "m4a", "m4v", "m4b", "f4a", "f4v", "mov", "qt", "3gp", "3g2", "heic")
    },
    **{ext: FORMATS["video/webm"] for ext in ("webm", "mkv", "mka")},
}


# --- storing, reading back, deleting ---------------------------------------------------------


def folder(instance_path: Path) -> Path:
    """The attachments folder in the instance folder, created readable by its owner only."""
    path = instance_path / FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def store(
    session: Session,
    instance_path: Path,
    submission: Submission,
    files: Sequence[CleanFile],
    key: tipkeys.PublicTipKey,
    message_id: int | None = None,
) -> list[Path]:
    """Encrypt and write `files`, adding their rows (caller commits); the paths written.

    If writing fails midway, what was written is removed before the error goes on.
    """
    written: list[Path] = []
    try:
        for file in files:
            file_key = secrets.token_bytes(SecretBox.KEY_SIZE)
            encrypted = bytes(SecretBox(file_key).encrypt(file.data))
            stored_name = secrets.token_hex(16)
            path = folder(instance_path) / stored_name
            _write_new(path, encrypted)
            written.append(path)
            meta = {
                "name": file.name,
                "type": file.content_type,
                "size": len(file.data),
                "key": file_key.hex(),
            }
            session.add(
                Attachment(
                    submission_id=submission.id,
                    message_id=message_id,
                    stored_name=stored_name,
                    tip_key_id=key.id,
                    sealed_meta=tipkeys.seal_to(key, meta),
                    size=len(encrypted),
                )
            )
        session.flush()
    except BaseException:
        remove_files(written)
        raise
    return written


@contextmanager
def kept_if_committed(written: Sequence[Path]) -> Iterator[None]:
    """Around the commit of stored files' rows: remove the files if the commit fails."""
    try:
        yield
    except BaseException:
        remove_files(written)
        raise


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def remove_files(paths: Sequence[Path]) -> None:
    """Overwrite and delete each of `paths` that exists (used when storing fails)."""
    for path in paths:
        shred(path)


def shred(path: Path) -> None:
    """Overwrite a file with random bytes of its length, fsync, then unlink it."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    with os.fdopen(fd, "wb") as handle:
        length = os.fstat(handle.fileno()).st_size
        remaining = length
        while remaining > 0:
            chunk = min(remaining, 1024 * 1024)
            handle.write(secrets.token_bytes(chunk))
            remaining -= chunk
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink(missing_ok=True)


def delete(instance_path: Path, attachment: Attachment) -> None:
    """Shred an attachment's file (retention; the caller deletes the row)."""
    shred(instance_path / FOLDER / attachment.stored_name)


def open_meta(keys: Mapping[int, bytes], attachment: Attachment) -> dict[str, object]:
    """An attachment's sealed name, type, size and key; raises tipkeys.TipKeyError."""
    return tipkeys.open_sealed(keys, attachment.tip_key_id, attachment.sealed_meta)


def read(keys: Mapping[int, bytes], instance_path: Path, attachment: Attachment) -> OpenedFile:
    """The cleaned file back: name, type and bytes. TipKeyError or FileNotFoundError."""
    meta = open_meta(keys, attachment)
    encrypted = (instance_path / FOLDER / attachment.stored_name).read_bytes()
    data = SecretBox(bytes.fromhex(str(meta["key"]))).decrypt(encrypted)
    return OpenedFile(str(meta["name"]), str(meta["type"]), bytes(data))


def of_submission(session: Session, submission_id: int) -> list[Attachment]:
    """A tip's stored files, in the order they came."""
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.submission_id == submission_id)
            .order_by(Attachment.id)
        )
    )


def describe(keys: Mapping[int, bytes], attachments: Sequence[Attachment]) -> list[FileInfo]:
    """What editors see of each file; those their keys do not open are left out."""
    infos: list[FileInfo] = []
    for attachment in attachments:
        try:
            meta = open_meta(keys, attachment)
        except tipkeys.TipKeyError:
            continue
        mime = str(meta["type"])
        fmt = FORMATS.get(mime)
        infos.append(
            FileInfo(
                id=attachment.id,
                name=str(meta["name"]),
                content_type=mime,
                label=str(fmt.label) if fmt else mime,
                size=int(str(meta["size"])),
            )
        )
    return infos
