"""Real files carrying metadata, made in the test: a geotagged photo, a PDF, a DOCX, an MP3, ..."""

from __future__ import annotations

import io
import zipfile

import mutagen.id3
import pikepdf
from PIL import Image

AUTHOR = "Rosalía Marker-Autora"  # an author's name, in every file's metadata
GPS_LATITUDE = (23.0, 8.0, 12.5)  # somewhere in Havana
GPS_LONGITUDE = (82.0, 21.0, 56.25)
CAMERA = "MarkerCam X100"


def jpeg_with_gps(width: int = 64, height: int = 48, quality: int = 90) -> bytes:
    """A JPEG with GPS EXIF tags, an artist, a camera, a comment, XMP, turned (orientation 6)."""
    image = Image.new("RGB", (width, height), "navy")
    image.paste("orange", (0, 0, width // 2, height // 4))  # a corner to see the orientation
    exif = Image.Exif()
    exif[0x013B] = AUTHOR  # Artist
    exif[0x0110] = CAMERA  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "W", 4: GPS_LONGITUDE}  # GPSInfo
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{AUTHOR}</dc:creator></x:xmpmeta>'
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=quality,
        exif=exif,
        comment=f"shot by {AUTHOR}".encode(),
        xmp=xmp.encode(),
    )
    return out.getvalue()


def noisy_jpeg_with_gps(width: int, height: int) -> bytes:
    """A larger JPEG (noise compresses badly: about a megabyte at 1600×1200) with GPS tags."""
    image = Image.effect_noise((width, height), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x013B] = AUTHOR
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "W", 4: GPS_LONGITUDE}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def png_with_text() -> bytes:
    """A PNG with a text chunk naming its author."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", AUTHOR)
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (255, 0, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf_with_author() -> bytes:
    """A one-page PDF with Author and Title in its info and XMP metadata."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [AUTHOR]
        meta["dc:title"] = "Informe secreto del ministerio"
        meta["xmp:CreatorTool"] = CAMERA
    pdf.docinfo["/Author"] = AUTHOR
    pdf.docinfo["/Title"] = "Informe secreto del ministerio"
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="jpeg" ContentType="image/jpeg"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/'
    'vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
DOCUMENT_TEXT = "El contrato se firmó el martes."


def docx_with_creator() -> bytes:
    """A DOCX whose properties name its creator and company, with a tracked change and a photo."""
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:creator>{AUTHOR}</dc:creator><cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy>"
        "</cp:coreProperties>"
    )
    app = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'extended-properties"><Company>{CAMERA} S.A.</Company></Properties>'
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>'
        f"<w:p><w:r><w:t>{DOCUMENT_TEXT}</w:t></w:r></w:p>"
        f'<w:p><w:ins w:id="1" w:author="{AUTHOR}" w:date="2026-01-02T03:04:05Z">'
        "<w:r><w:t>Añadido.</w:t></w:r></w:ins></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", document)
        archive.writestr("docProps/core.xml", core)
        archive.writestr("docProps/app.xml", app)
        archive.writestr("word/media/image1.jpeg", jpeg_with_gps())
    return out.getvalue()


def odt_with_creator() -> bytes:
    """An ODT whose meta.xml names its author."""
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office='
        '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta='
        '"urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"><office:meta>'
        f"<meta:initial-creator>{AUTHOR}</meta:initial-creator></office:meta>"
        "</office:document-meta>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("meta.xml", meta)
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
    return out.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def mp3_with_artist() -> bytes:
    """An MP3 (silent frames) with an ID3v2 artist tag."""
    buffer = io.BytesIO(MP3_FRAME * 20)
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TPE1(encoding=3, text=[AUTHOR]))
    tags.add(mutagen.id3.TIT2(encoding=3, text=["Grabación de la reunión"]))
    tags.save(buffer)
    return buffer.getvalue()


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def m4a_with_artist_and_location() -> bytes:
    """An MP4 audio file with an iTunes artist tag and a QuickTime location (©xyz)."""
    mvhd = _box(b"mvhd", b"\0\0\0\0" + (3_800_000_000).to_bytes(4, "big") * 2 + bytes(88))
    ilst = _box(b"ilst", _box(b"\xa9ART", _box(b"data", b"\0\0\0\1\0\0\0\0" + AUTHOR.encode())))
    meta = _box(b"meta", b"\0\0\0\0" + ilst)
    xyz = _box(b"\xa9xyz", b"\0\x12\x15\xc7+23.1367-082.3589/")
    moov = _box(b"moov", mvhd + _box(b"udta", meta + xyz))
    return _box(b"ftyp", b"M4A \0\0\0\0M4A mp42isom") + moov + _box(b"mdat", bytes(64))


def webm_with_title() -> bytes:
    """A WebM skeleton whose segment info has a title and whose tags name an artist."""

    def element(element_id: bytes, body: bytes) -> bytes:
        return element_id + (0x0100000000000000 | len(body)).to_bytes(8, "big") + body

    header = element(b"\x1a\x45\xdf\xa3", element(b"\x42\x82", b"webm"))
    info = element(b"\x15\x49\xa9\x66", element(b"\x7b\xa9", AUTHOR.encode()))
    tag = element(b"\x73\x73", element(b"\x67\xc8", element(b"\x44\x87", AUTHOR.encode())))
    tags = element(b"\x12\x54\xc3\x67", tag)
    cluster = element(b"\x1f\x43\xb6\x75", element(b"\xe7", b"\x00"))
    return header + element(b"\x18\x53\x80\x67", info + tags + cluster)


def wav_with_info() -> bytes:
    """A short WAV with a LIST/INFO chunk naming the artist."""
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    artist = AUTHOR.encode() + b"\0"
    info = (
        b"INFO" + b"IART" + len(artist).to_bytes(4, "little") + artist + b"\0" * (len(artist) % 2)
    )
    chunks = [b"fmt ", fmt, b"LIST", info, b"data", bytes(800)]
    body = b"WAVE" + b"".join(
        chunks[i] + len(chunks[i + 1]).to_bytes(4, "little") + chunks[i + 1]
        for i in range(0, len(chunks), 2)
    )
    return b"RIFF" + len(body).to_bytes(4, "little") + body


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x00" * 200  # a program's header
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
