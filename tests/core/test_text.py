"""Reader text: normalised on the way in, inert with safe links on the way out."""

from __future__ import annotations

from markupsafe import Markup

from core.text import clean_line, clean_text, linkify, paragraphs


def test_clean_text_unifies_line_breaks_and_keeps_tabs() -> None:
    assert clean_text("a\r\nb\rc\u2028d\u2029e\x85f\tg") == "a\nb\nc\nd\ne\nf\tg"


def test_clean_text_removes_controls_and_invisible_characters() -> None:
    assert clean_text("N\x00U\x07L\x1b\x7f\x9f") == "NUL"
    invisible = "\u200b\u200c\u200d\u200e\u200f\u00ad\u2060\ufeff\u180e\U000e0041"
    assert clean_text(f"vi{invisible}agra") == "viagra"


def test_clean_text_removes_every_bidi_control() -> None:
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
    assert clean_text(f"{controls}gpj.exe") == "gpj.exe"


def test_clean_text_composes_and_squeezes_blank_lines() -> None:
    assert clean_text("Cafe\u0301") == "Café"
    assert clean_text("uno\n\n\n\n  \n\ndos\n\ntres\ncuatro") == "uno\n\ndos\n\ntres\ncuatro"


def test_clean_line_makes_one_line() -> None:
    assert clean_line("  Ana\n\tMaría  \u200bPérez ") == "Ana María Pérez"


def test_paragraphs_are_split_on_blank_lines() -> None:
    assert paragraphs("Uno\nsigue\n\n \n\nDos\n\n") == ["Uno\nsigue", "Dos"]
    assert paragraphs("") == []


def test_linkify_escapes_everything_and_links_only_http_urls() -> None:
    result = linkify('<b>hola</b> & "adiós" javascript:alert(1) data:text/html,x ftp://x.org')
    assert isinstance(result, Markup)
    assert result == (
        "&lt;b&gt;hola&lt;/b&gt; &amp; &#34;adiós&#34; javascript:alert(1) "
        "data:text/html,x ftp://x.org"
    )


def test_linkify_makes_nofollow_links_with_escaped_addresses() -> None:
    assert linkify("ver https://x.org/a?b=1&c=<2>") == (
        'ver <a href="https://x.org/a?b=1&amp;c=" rel="nofollow ugc noopener">'
        "https://x.org/a?b=1&amp;c=</a>&lt;2&gt;"
    )


def test_a_quote_ends_a_link_so_it_cannot_break_out_of_the_attribute() -> None:
    result = linkify('http://x.org/"onmouseover="alert(1)')
    assert result.startswith('<a href="http://x.org/" rel="nofollow ugc noopener">')
    assert "&#34;onmouseover=&#34;alert(1)" in result


def test_linkify_leaves_sentence_punctuation_and_unbalanced_brackets_outside() -> None:
    assert linkify("(ver http://x.org/a).") == (
        '(ver <a href="http://x.org/a" rel="nofollow ugc noopener">http://x.org/a</a>).'
    )
    wiki = "https://es.wikipedia.org/wiki/Zafra_(agricultura)"
    assert linkify(f"{wiki}, dice") == (
        f'<a href="{wiki}" rel="nofollow ugc noopener">{wiki}</a>, dice'
    )
    assert linkify("HTTPS://X.ORG") == (
        '<a href="HTTPS://X.ORG" rel="nofollow ugc noopener">HTTPS://X.ORG</a>'
    )
    assert linkify("solo http:// y https://.") == "solo http:// y https://."
