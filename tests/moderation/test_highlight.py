"""Marking what the checks matched in a comment's text: safe, whole words, links."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from markupsafe import Markup
from sqlalchemy.orm import Session

from core.enums import ListName, Status, Verdict
from core.models import ListEntry, StaffUser, Submission
from moderation.highlight import Span, highlight, link_spans, merge, render, word_spans
from tests.moderation.conftest import login

BANNED = "banned word: recargas"


def test_a_listed_word_is_marked_with_the_checks_reason_as_title() -> None:
    html = highlight("Vendo recargas hoy", {"recargas": BANNED})
    assert html == Markup(
        'Vendo <mark class="mark-word" title="banned word: recargas">recargas</mark> hoy'
    )


def test_words_match_whatever_their_capitals_and_accents_as_written() -> None:
    html = highlight("RECÁRGAS y Recargas", {"recargas": BANNED})
    assert str(html).count("<mark") == 2
    # The text is shown as the reader wrote it, not folded.
    assert ">RECÁRGAS</mark>" in html
    assert ">Recargas</mark>" in html


def test_a_term_with_an_accent_matches_the_plain_spelling_and_enye_stays_distinct() -> None:
    assert ">Cafe</mark>" in highlight("Cafe gratis", {"café": "suspect"})
    assert ">pequeno</mark>" in highlight("un pequeno regalo", {"pequeño": "suspect"})
    # "año" is not "ano": a term without "ñ" does not match a word with one.
    assert "<mark" not in highlight("Feliz año", {"ano": "banned"})


def test_only_whole_words_are_marked() -> None:
    assert "<mark" not in highlight("sobrecargas y recargasbaratas", {"recargas": BANNED})


def test_a_phrase_is_marked_across_spaces_and_punctuation() -> None:
    html = highlight("Gane en el casino, online hoy", {"casino online": "banned"})
    assert '<mark class="mark-word" title="banned">casino, online</mark>' in html


def test_disguised_words_are_marked_as_the_check_reads_them() -> None:
    html = highlight(
        "Juegue al c@sino o al VIAAAGRA, o reca\u200brgas",
        {
            "casino": "c",
            "viagra": "v",
            "recargas": "r",
        },
    )
    assert ">c@sino</mark>" in html
    assert ">VIAAAGRA</mark>" in html
    assert ">reca\u200brgas</mark>" in html


def test_html_in_the_text_stays_text() -> None:
    attack = "<script>alert(1)</script> recargas <img src=x onerror=alert(2)> \"'&"
    html = str(highlight(attack, {"recargas": BANNED}, link_title="links"))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&#34;&#39;&amp;" in html
    assert html.count("<mark") == 1


def test_a_matched_word_that_is_markup_is_escaped_inside_the_mark() -> None:
    html = str(highlight("<b>recargas</b>", {"recargas": BANNED}))
    mark = '<mark class="mark-word" title="banned word: recargas">recargas</mark>'
    assert html == f"&lt;b&gt;{mark}&lt;/b&gt;"


def test_a_title_cannot_break_out_of_its_attribute() -> None:
    html = str(highlight("recargas", {"recargas": '"><script>alert(1)</script>'}))
    assert "<script>" not in html
    assert 'title="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_links_are_marked_and_a_listed_domain_gets_its_reason() -> None:
    text = "Mire bit.ly/abc y https://ejemplo.org/nota y www.promo.xyz"
    html = highlight(text, {}, "links", domain_titles={"bit.ly": "link shortener: bit.ly"})
    assert '<mark class="mark-link" title="link shortener: bit.ly">bit.ly/abc</mark>' in html
    assert '<mark class="mark-link" title="links">https://ejemplo.org/nota</mark>' in html
    assert '<mark class="mark-link" title="links">www.promo.xyz</mark>' in html


def test_e_mail_addresses_and_ordinary_words_with_dots_are_not_links() -> None:
    assert "<mark" not in highlight("Escriba a ana@ejemplo.es. Fin.del mundo", {}, "links")


def test_a_link_is_not_made_clickable() -> None:
    assert "<a " not in str(highlight("https://evil.example/x", {}, "links"))


def test_overlapping_matches_become_one_mark_with_both_titles() -> None:
    # A listed word inside a link: one mark, titled by both.
    html = str(highlight("vea www.recargas.com/hoy", {"recargas": BANNED}, "links"))
    assert html.count("<mark") == 1
    assert (
        'title="links; banned word: recargas"' in html
        or 'title="banned word: recargas; links"' in html
    )
    assert 'class="mark-link mark-word"' in html or 'class="mark-word mark-link"' in html


def test_merge_joins_overlaps_and_keeps_separate_spans_apart() -> None:
    spans = [Span(0, 5, ("a",), "word"), Span(3, 8, ("b",), "word"), Span(10, 12, ("c",), "link")]
    assert merge(spans) == [Span(0, 8, ("a", "b"), "word"), Span(10, 12, ("c",), "link")]


def test_a_term_on_two_lists_or_matched_twice_is_marked_once() -> None:
    spans = word_spans("recargas", {"recargas": "a", "RECARGAS": "b"})
    assert str(render("recargas", spans)).count("<mark") == 1


def test_no_terms_and_no_links_leave_the_text_escaped_only() -> None:
    assert highlight("a < b", {}) == Markup("a &lt; b")
    assert link_spans("sin enlaces", "links") == []


def test_the_comment_page_marks_listed_words_and_links_and_counts_the_articles_comments(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    session.add_all(
        [
            ListEntry(list=ListName.suspect_words, value="recargas"),
            ListEntry(list=ListName.banned_words, value="casino online"),
        ]
    )
    session.commit()
    make_comment("ya publicado", Status.published)
    submission = make_comment(
        "<i>Recárgas</i> y Casino Online en bit.ly/x",
        check=(Verdict.suspect, "link shortener: %(domain)s", {"domain": "bit.ly"}),
    )
    login(client, "mod@example.org")

    page = client.get(f"/submissions/{submission.id}").text
    assert "&lt;i&gt;<mark" in page
    assert '<mark class="mark-word" title="suspect word: recargas">Recárgas</mark>' in page
    assert '<mark class="mark-word" title="banned word: casino online">Casino Online</mark>' in page
    assert '<mark class="mark-link" title="link shortener: bit.ly">bit.ly/x</mark>' in page
    assert "1 published comment" in page
