"""Text readers send: normalised on the way in, rendered inert (with safe links) on the way out.

Both sites use these: the public site when it takes in and shows comments, the staff site when it
shows what readers sent.
"""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

# Every line break a reader's browser, phone or copy-paste may produce, made one "\n".
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# Control characters (all but tab and newline), and the invisible format characters that
# reorder or hide text: zero-width spaces and joiners, bidi marks, embeddings, overrides and
# isolates, the soft hyphen, word joiners, the byte-order mark, interlinear annotations and tag
# characters. Spammers use them to slip words past filters; the bidi controls can make text read
# differently from what a moderator sees ("Trojan Source"). Losing them costs little: emoji joined
# with a zero-width joiner fall apart into their parts.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)
# More than one empty line in a row adds nothing but room for a wall of blank space.
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = re.compile(r"\s+")
# A link is http(s):// and what follows up to a space or a character that cannot be in a URL
# written in running text. Only http and https: never javascript:, data: and the like.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_TRAILING = ".,;:!?*'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}
LINK_REL = "nofollow ugc noopener"


def clean_text(value: str) -> str:
    """Multi-line text with line breaks unified, controls and invisible characters removed, NFC."""
    text = _LINE_BREAKS.sub("\n", value)
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return _BLANK_LINES.sub("\n\n", text)


def clean_line(value: str) -> str:
    """One-line text (a name, a contact): like clean_text, with every run of spaces made one."""
    return _SPACES.sub(" ", clean_text(value)).strip()


def paragraphs(text: str) -> list[str]:
    """The paragraphs of plain text: the parts between empty lines, without the empty ones."""
    return [part.strip() for part in re.split(r"\n[ \t]*\n", clean_text(text)) if part.strip()]


def linkify(text: str) -> Markup:
    """`text` escaped for HTML, with http(s) URLs made links a search engine does not follow."""
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        if len(url) <= len("https://"):
            continue
        # Every piece goes through escape(): the text between links, and each URL both as the
        # link's address and as its visible text (Markup.format escapes its arguments).
        pieces.append(escape(text[position : match.start()]))
        pieces.append(Markup('<a href="{0}" rel="{1}">{0}</a>').format(url, LINK_REL))
        position = match.start() + len(url)
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


def _trim_url(url: str) -> str:
    # Punctuation that ends a sentence is not part of the link ("see https://x.org."), nor is a
    # closing bracket without its opening one ("(https://x.org)"), but Wikipedia's
    # "https://en.wikipedia.org/wiki/Foo_(bar)" keeps its own.
    while url and (url[-1] in _TRAILING or _unbalanced(url)):
        url = url[:-1]
    return url


def _unbalanced(url: str) -> bool:
    last = url[-1]
    return last in _PAIRS and url.count(last) > url.count(_PAIRS[last])
