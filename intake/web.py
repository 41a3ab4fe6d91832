"""How the public site parses form bodies: leniently, so unreadable bytes get a form error."""

from __future__ import annotations

from io import BytesIO
from typing import IO, Any
from urllib.parse import parse_qsl

from werkzeug.formparser import FormDataParser

from core.i18n import CatalogRequest


class ReadableFormDataParser(FormDataParser):
    """Decodes form bodies that are not valid UTF-8 with U+FFFD instead of dropping them.

    Werkzeug discards a whole urlencoded body that does not decode, so the reader would get a
    confusing "security token missing" page. With the bytes replaced, the form sees the fields
    and tells them which one holds characters that could not be read.
    """

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], Any, Any]:
        """Parse urlencoded bodies leniently; leave every other kind to Werkzeug."""
        if mimetype != "application/x-www-form-urlencoded":
            return super().parse(stream, mimetype, content_length, options)
        try:
            # The stream is already limited to MAX_CONTENT_LENGTH (413 beyond it).
            items = parse_qsl(
                stream.read().decode("utf-8", errors="replace"),
                keep_blank_values=True,
                errors="replace",
                max_num_fields=self.max_form_parts,
            )
        except ValueError:  # more fields than max_form_parts: treated like unparseable input
            return stream, self.cls(), self.cls()
        return stream, self.cls(items), self.cls()


class IntakeRequest(CatalogRequest):
    """The public site's request: lenient decoding of invalid UTF-8 (see the parser)."""

    form_data_parser_class = ReadableFormDataParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # Uploaded files stay in memory (the request size caps them): a source's file, with
        # its metadata, never reaches a temporary file on disk before it is cleaned and
        # encrypted (core.attachments).
        return BytesIO()
