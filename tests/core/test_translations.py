"""The es and en catalogs: complete for the code as it is, sound, compiled, and used by both sites.

When a test here fails after a change to the code, run `python3 scripts/translations update`,
translate the new entries of core/translations/es/LC_MESSAGES/messages.po, then run
`python3 scripts/translations compile`.
"""

from __future__ import annotations

import ast
import gettext
import importlib.machinery
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from jinja2 import Environment
from markupsafe import escape
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import limits
from core.enums import Kind, ModerationMode, Role, Status, Verdict
from core.i18n import LANGUAGE_COOKIE
from core.models import Article, CheckResult, Submission
from core.staff import create_staff_user
from tests.support import csrf_token

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "core" / "translations"
LOCALES = ("es", "en")
# Where user-facing strings may live; the extraction (babel.cfg) must cover all of them.
PACKAGES = ("core", "intake", "moderation", "worker", "tipline")
TEMPLATES = ROOT / "templates"
# Functions whose first argument is a msgid (Flask-Babel's, and core.i18n.N_), and the plural ones.
SINGULAR = {"_", "gettext", "_l", "lazy_gettext", "N_"}
PLURAL = {"ngettext", "lazy_ngettext"}
CONTEXT = {"pgettext", "lazy_pgettext"}
# A %-placeholder as Python's %-formatting reads it: %(name)s, %(n)d, %.2f, %%.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?([a-zA-Z%])")
TAG = re.compile(r"</?[a-zA-Z][^>]*>|&\w+;|&#\d+;")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _load_tool() -> ModuleType:
    """scripts/translations as a module, so the test extracts exactly as the tool does."""
    path = ROOT / "scripts" / "translations"
    loader = importlib.machinery.SourceFileLoader("tipline_translations_tool", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _po(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages the current code and templates mark for translation, freshly extracted."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    _load_tool().extract(pot)
    with pot.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    """The committed .po catalogs."""
    return {locale: _po(locale) for locale in LOCALES}


def tr(locale: str, msgid: str) -> str:
    """The committed translation of `msgid` (the .po file, which the .mo test ties to the app)."""
    message = _po(locale).get(msgid)
    assert message is not None and isinstance(message.string, str), msgid
    return message.string


# --- (a) the catalogs hold every message of the code --------------------------------------------


def test_every_message_in_the_code_is_in_both_catalogs(
    extracted: Catalog, catalogs: dict[str, Catalog]
) -> None:
    wanted = {message.id for message in _messages(extracted)}
    for locale, catalog in catalogs.items():
        missing = sorted(map(str, wanted - {message.id for message in _messages(catalog)}))
        assert not missing, (
            f"{locale}: {len(missing)} message(s) not in the catalog, run "
            f"`python3 scripts/translations update` and translate them: {missing}"
        )


def test_the_extraction_sees_every_kind_of_marked_string(extracted: Catalog) -> None:
    # One of each: a template, lazy_gettext, gettext in a module, N_ (a check's reason), core.
    for msgid in (
        "Send us a tip",
        "Display name",
        "automatic checks",
        "links: %(count)d",
        "Temporarily unavailable",
    ):
        assert msgid in extracted, msgid


def _python_msgids(path: Path) -> Iterator[str | tuple[str, ...]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute) and func.attr in {"gettext", "ngettext", "pgettext"}:
            name = func.attr
        # Only literal arguments: a variable (a check's stored reason) is not extractable.
        strings = [
            a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        first = node.args[0] if node.args else None
        first_is_literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if name in SINGULAR and first_is_literal and strings:
            yield strings[0]
        elif name in PLURAL and len(strings) >= 2:
            yield (strings[0], strings[1])
        elif name in CONTEXT and len(strings) >= 2:
            yield strings[1]


def _template_msgids(path: Path) -> Iterator[str | tuple[str, ...]]:
    environment = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    source = path.read_text(encoding="utf-8")
    # Jinja's own parser, not Babel's mapping: a template babel.cfg does not match still shows.
    translations = environment.extract_translations(source)  # type: ignore[attr-defined]
    for _line, function, message in translations:
        forms = [m for m in ((message,) if isinstance(message, str) else message) if m]
        if not forms:
            continue  # a variable, not a literal: nothing to extract
        if function in PLURAL:
            yield (forms[0], forms[1])
        elif function in CONTEXT:
            yield forms[1]
        else:
            yield forms[0]


def test_babel_cfg_covers_every_module_and_template(extracted: Catalog) -> None:
    """Found without Babel's mapping: a package or template folder babel.cfg misses would show."""
    found: dict[str | tuple[str, ...], Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found.update(dict.fromkeys(_python_msgids(path), path))
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        found.update(dict.fromkeys(_template_msgids(path), path))
    assert len(found) > 100  # the scan itself works
    ids = {message.id for message in _messages(extracted)}
    missed = {
        msgid: str(path.relative_to(ROOT)) for msgid, path in found.items() if msgid not in ids
    }
    assert not missed, f"marked for translation but not extracted (babel.cfg?): {missed}"


# --- (b) no entry is empty or fuzzy ---------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_no_entry_is_empty_or_fuzzy(locale: str, catalogs: dict[str, Catalog]) -> None:
    catalog = catalogs[locale]
    assert not catalog.fuzzy, f"{locale}: the catalog's header is marked fuzzy"
    empty, fuzzy, wrong_forms = [], [], []
    for message in _messages(catalog):
        forms = _forms(message.string)
        if not all(form.strip() for form in forms):
            empty.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
        if message.pluralizable and len(forms) != catalog.num_plurals:
            wrong_forms.append(message.id)
    assert not empty, f"{locale}: untranslated: {empty}"
    assert not fuzzy, f"{locale}: fuzzy (check them, then remove the flag): {fuzzy}"
    assert not wrong_forms, f"{locale}: need {catalog.num_plurals} plural forms: {wrong_forms}"


@pytest.mark.parametrize("locale", LOCALES)
def test_headers(locale: str, catalogs: dict[str, Catalog]) -> None:
    catalog = catalogs[locale]
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == locale
    assert "LANGUAGE" not in headers["Language-Team"]
    assert headers["Content-Type"].lower() == "text/plain; charset=utf-8"
    # Two forms, as gettext counts them for both languages (Babel's CLDR data says 3 for es).
    assert headers["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_the_english_catalog_is_the_msgids(catalogs: dict[str, Catalog]) -> None:
    for message in _messages(catalogs["en"]):
        assert _forms(message.string) == _forms(message.id), message.id


def test_the_spanish_catalog_is_translated_not_copied(catalogs: dict[str, Catalog]) -> None:
    messages = list(_messages(catalogs["es"]))
    copied = [m.id for m in messages if m.string == m.id]
    # A few are the same in both languages ("Error", "Spam", "%(time)s UTC"); not many more.
    assert len(copied) < len(messages) / 10, copied


# --- (c) placeholders and markup survive translation ----------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {f"%({name}){kind}" if name else f"%{kind}" for name, kind in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_placeholders_and_markup(
    locale: str, catalogs: dict[str, Catalog]
) -> None:
    problems = []
    for message in _messages(catalogs[locale]):
        ids = _forms(message.id)
        for index, form in enumerate(_forms(message.string)):
            # msgstr[0] answers the singular msgid; every other form the plural one.
            source = ids[min(index, len(ids) - 1)]
            if _placeholders(form) != _placeholders(source):
                problems.append((message.id, form, "placeholders"))
            elif sorted(TAG.findall(form)) != sorted(TAG.findall(source)):
                problems.append((message.id, form, "markup"))
            elif "%" in form.replace("%%", "") and not _placeholders(form):
                problems.append((message.id, form, "a lone %"))
            else:
                # Formats like the apps do (templates always apply %, code when it has values).
                values = {
                    name: 1 if kind in "di" else "x"
                    for name, kind in PLACEHOLDER.findall(form)
                    if name
                }
                try:
                    form % values
                except (KeyError, ValueError, TypeError) as exc:
                    problems.append((message.id, form, f"does not format: {exc}"))
    assert not problems, f"{locale}: {problems}"


# --- (d) the .mo files the apps load match the .po files ------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_mo_files_are_up_to_date(locale: str, catalogs: dict[str, Catalog]) -> None:
    mo_path = CATALOGS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"run `python3 scripts/translations compile` ({mo_path} missing)"
    with mo_path.open("rb") as f:
        compiled = read_mo(f)
    po = catalogs[locale]
    expected = {
        _hashable(m.id): _hashable(m.string)
        for m in _messages(po)
        if not m.fuzzy and all(_forms(m.string))
    }
    # A plural entry read back from a .mo file has lists where the .po has tuples.
    actual = {_hashable(m.id): _hashable(m.string) for m in _messages(compiled)}
    stale = {k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)}
    assert not stale, (
        f"{mo_path.name} ({locale}) does not match its .po: run "
        f"`python3 scripts/translations compile`; differing: {sorted(map(str, stale))}"
    )
    # The header gettext reads at run time: the plural rule must be the .po's.
    with mo_path.open("rb") as f:
        runtime = gettext.GNUTranslations(f)
    plural = runtime.plural  # type: ignore[attr-defined]
    assert [plural(n) for n in (0, 1, 2, 1_000_000)] == [1, 0, 1, 1]


# --- (e) the sites speak the reader's language ----------------------------------------------------

ES = {"Accept-Language": "es-CU,es;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _assert_language(page: str, locale: str, msgids: tuple[str, ...]) -> None:
    """`page` is in `locale`: it shows each msgid's translation, and not the other language's."""
    other = "en" if locale == "es" else "es"
    assert f'<html lang="{locale}"' in page
    for msgid in msgids:
        mine, theirs = tr(locale, msgid), tr(other, msgid)
        assert mine != theirs, f"pick a msgid whose translations differ: {msgid}"
        assert str(escape(mine)) in page, f"{locale} page lacks {mine!r}"
        assert str(escape(theirs)) not in page, f"{locale} page shows {theirs!r}"


@pytest.fixture
def article(session: Session) -> Article:
    """An article open for comments."""
    article = Article(
        slug="la-zafra", title="La zafra que no fue", body="Un párrafo.", mode=ModerationMode.post
    )
    session.add(article)
    session.commit()
    return article


ARTICLE_TEXT = ("What do you think?", "Do you have something to report?", "Display name")
TIP_TEXT = (
    "Before you write: protect yourself",
    "For more protection, use Tor Browser (torproject.org): it hides where you connect from "
    "and keeps no history.",
    "Use a device and a connection that are not your employer’s, and that nobody else watches.",
    "What do you want to tell us?",
    "Send tip",
)


@sqlite_only
@pytest.mark.parametrize(("headers", "locale"), [(ES, "es"), (EN, "en")])
def test_public_pages_follow_the_browsers_language(
    intake_client: FlaskClient, article: Article, headers: dict[str, str], locale: str
) -> None:
    page = intake_client.get("/articles/la-zafra", headers=headers)
    assert page.status_code == 200
    _assert_language(page.text, locale, ARTICLE_TEXT)

    form = intake_client.get("/tip", headers=headers)
    _assert_language(form.text, locale, TIP_TEXT)

    data = {"csrf_token": csrf_token(form.text), "text": "Corto", "contact": "", "name": ""}
    invalid = intake_client.post("/tip", data=data, headers=headers)
    assert invalid.status_code == 422
    minimum = tr(locale, "Write at least %(min)d characters.") % {"min": limits.BODY[Kind.tip].min}
    assert str(escape(minimum)) in invalid.text  # a lazy validator message, formatted

    data["text"] = "En el central azucarero desvían el combustible de la zafra."
    receipt = intake_client.post("/tip", data=data, headers=headers, follow_redirects=True)
    assert receipt.status_code == 200
    _assert_language(
        receipt.text, locale, ("Thank you: your tip was received", "What happens next")
    )

    missing = intake_client.get("/articles/no-such-article", headers=headers)
    assert missing.status_code == 404
    _assert_language(missing.text, locale, ("Page not found", "Go to the home page"))


@sqlite_only
def test_a_browser_in_another_language_gets_the_newsrooms_spanish(
    intake_client: FlaskClient, article: Article
) -> None:
    for headers in ({"Accept-Language": "fr-FR,fr;q=0.9"}, {}):
        page = intake_client.get("/articles/la-zafra", headers=headers)
        _assert_language(page.text, "es", ARTICLE_TEXT)


@sqlite_only
@pytest.mark.parametrize(("headers", "locale"), [(ES, "es"), (EN, "en")])
def test_staff_pages_follow_the_browsers_language(
    moderation_client: FlaskClient,
    session: Session,
    article: Article,
    headers: dict[str, str],
    locale: str,
) -> None:
    login = moderation_client.get("/login", headers=headers)
    _assert_language(login.text, locale, ("Log in", "Password", "Language"))

    no_token = moderation_client.post("/login", data={"email": "x@example.org"}, headers=headers)
    assert no_token.status_code == 400
    csrf_message = (
        "This form's security token is missing or has expired, so it was not accepted. "
        "Reload the page and send it again."
    )
    _assert_language(no_token.text, locale, ("Bad request", csrf_message))

    create_staff_user(session, "mod@example.org", "correct horse battery", Role.moderator)
    comment = Submission(
        kind=Kind.comment,
        status=Status.pending,
        article_id=article.id,
        author_name="Ana",
        body="Vean https://a.example https://b.example https://c.example",
    )
    # A check's reason is stored as its English msgid (marked with N_) and its parameters.
    comment.check_results.append(
        CheckResult(
            name="links",
            version="1",
            verdict=Verdict.suspect,
            score=0.5,
            reason="links: %(count)d, more than the limit of %(max)d",
            reason_params={"count": 3, "max": 2},
        )
    )
    session.add(comment)
    session.commit()
    data = {
        "csrf_token": csrf_token(login.text),
        "email": "mod@example.org",
        "password": "correct horse battery",
    }
    moderation_client.post("/login", data=data, headers=headers)

    queue = moderation_client.get("/queue?status=pending", headers=headers)
    assert queue.status_code == 200
    _assert_language(queue.text, locale, ("Pending", "Suspect", "Approve", "Log out"))
    reason = tr(locale, "links: %(count)d, more than the limit of %(max)d") % {"count": 3, "max": 2}
    assert str(escape(reason)) in queue.text

    missing = moderation_client.get("/submissions/999999", headers=headers)
    assert missing.status_code == 404
    _assert_language(missing.text, locale, ("Page not found", "Back to the queue"))


def _switch(client: FlaskClient, page: TestResponse, to: str) -> TestResponse:
    match = re.search(rf'<a href="(/language/{to}[^"]*)"', page.text)
    assert match is not None, f"no link to switch to {to}"
    return client.get(match.group(1).replace("&amp;", "&"))


@sqlite_only
def test_the_public_language_switch_flips_the_text(
    intake_client: FlaskClient, article: Article
) -> None:
    spanish = intake_client.get("/articles/la-zafra", headers=ES)
    _assert_language(spanish.text, "es", ARTICLE_TEXT)

    switched = _switch(intake_client, spanish, "en")
    assert switched.status_code == 303
    assert intake_client.get_cookie(LANGUAGE_COOKIE).value == "en"  # type: ignore[union-attr]
    # The reader's choice now wins over the browser's Spanish.
    english = intake_client.get(switched.headers["Location"], headers=ES)
    _assert_language(english.text, "en", ARTICLE_TEXT)

    back = _switch(intake_client, english, "es")
    assert intake_client.get_cookie(LANGUAGE_COOKIE).value == "es"  # type: ignore[union-attr]
    _assert_language(
        intake_client.get(back.headers["Location"], headers=EN).text, "es", ARTICLE_TEXT
    )


@sqlite_only
def test_the_staff_language_switch_flips_the_text(moderation_client: FlaskClient) -> None:
    spanish = moderation_client.get("/login", headers=ES)
    _assert_language(spanish.text, "es", ("Log in", "Password"))

    switched = _switch(moderation_client, spanish, "en")
    assert switched.status_code == 303
    english = moderation_client.get(switched.headers["Location"], headers=ES)
    _assert_language(english.text, "en", ("Log in", "Password"))


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value
