"""A comment's text with what the checks matched marked: listed words and links.

The text is escaped first and only the escaped pieces are wrapped in <mark>, so whatever a
reader wrote stays text. Words are matched as the word check matches them (worker.normalize):
whole words or phrases, whatever their capitals or accents, with zero-width characters ignored
and leetspeak or look-alike letters read as letters. Letters spaced out ("r e c a r g a s") are
not marked: the check's reason still names the word.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from worker.checks.links import LINK, link_hosts, listed
from worker.normalize import fold, term_words, unmask

# A word as worker.normalize splits them; and as leetspeak writes it ("c@sino", "v1agra").
_WORD = re.compile(r"[^\W_]+")
_LEET_WORD = re.compile(r"[$@]?[^\W_]+(?:[@$€!|+][^\W_]+)*")


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of the text, marked with `titles` (what matched them)."""

    start: int
    end: int
    titles: tuple[str, ...]
    kind: str  # "word" or "link"


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    # Folded character by character, so that each folded character knows the original one it
    # came from (folding drops accents and invisible characters and may turn "ß" into "ss").
    if text.isascii():
        return text.lower(), list(range(len(text) + 1))
    parts: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        folded = fold(char)
        parts.append(folded)
        origin.extend([i] * len(folded))
    origin.append(len(text))
    return "".join(parts), origin


def word_spans(text: str, terms: Mapping[str, str]) -> list[Span]:
    """Where each of `terms` (term -> title) is in `text`, as whole words or phrases."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for term, title in terms.items():
        words = term_words(term)
        unmasked = tuple(_WORD.findall(unmask(fold(term))))
        # As the word check: a term with "ñ" also matches the spelling without it.
        for key in {words, tuple(w.replace("ñ", "n") for w in words), unmasked}:
            if key:
                index.setdefault(key[0], []).append((key, title))
    if not index:
        return []
    folded, origin = _folded_with_offsets(text)
    spans: list[Span] = []
    for pattern, read in ((_WORD, None), (_LEET_WORD, unmask)):
        tokens = [
            (origin[m.start()], origin[m.end() - 1] + 1, read(m.group()) if read else m.group())
            for m in pattern.finditer(folded)
        ]
        if read is not None:
            # A leet word whose reading is not one plain word ("a$") cannot match a term.
            tokens = [t for t in tokens if _WORD.fullmatch(t[2])]
        seen = [t[2] for t in tokens]
        for i, word in enumerate(seen):
            for key, title in index.get(word, ()):
                n = len(key)
                if tuple(seen[i : i + n]) == key:
                    spans.append(Span(tokens[i][0], tokens[i + n - 1][1], (title,), "word"))
    return spans


def link_spans(
    text: str,
    title: str,
    known: tuple[Collection[str], ...] = (),
    domain_titles: Mapping[str, str] | None = None,
) -> list[Span]:
    """Where the links are in `text` (as worker.checks.links counts them), titled `title`.

    A link to a domain of `domain_titles` (a blocked domain, a shortener) gets that title.
    """
    spans = []
    for match in LINK.finditer(text):
        hosts = link_hosts(match.group(), known)
        if not hosts:
            continue
        domain = listed(hosts[0], domain_titles) if domain_titles else None
        titles = (domain_titles[domain],) if domain_titles and domain else (title,)
        spans.append(Span(match.start(), match.end(), titles, "link"))
    return spans


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans joined into one, with all their titles, in the order of the text."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            titles = tuple(dict.fromkeys(last.titles + span.titles))
            kind = last.kind if last.kind == span.kind else "word link"
            merged[-1] = Span(last.start, max(last.end, span.end), titles, kind)
        else:
            merged.append(span)
    return merged


def render(text: str, spans: Iterable[Span]) -> Markup:
    """`text` escaped, each span wrapped in <mark> with its titles."""
    out: list[Markup] = []
    at = 0
    for span in merge(spans):
        out.append(escape(text[at : span.start]))
        kinds = " ".join(f"mark-{kind}" for kind in span.kind.split())
        # Markup.format escapes its arguments: the class, title and text are never markup.
        out.append(
            Markup('<mark class="{}" title="{}">{}</mark>').format(
                kinds, "; ".join(span.titles), text[span.start : span.end]
            )
        )
        at = span.end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def highlight(
    text: str,
    terms: Mapping[str, str],
    link_title: str | None = None,
    known: tuple[Collection[str], ...] = (),
    domain_titles: Mapping[str, str] | None = None,
) -> Markup:
    """`text` escaped with `terms` (term -> title) and, given `link_title`, its links marked."""
    spans = word_spans(text, terms)
    if link_title is not None:
        spans += link_spans(text, link_title, known, domain_titles)
    return render(text, spans)
