"""Languages: Flask-Babel set up for both apps, the locale choice and the switch."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import support
from flask import Blueprint, Flask, Request, current_app, g, redirect, request
from flask_babel import Babel, Domain, get_locale
from werkzeug.wrappers import Response
from wtforms.i18n import messages_path

from core.urls import local_path

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGE_COOKIE = "tipline_lang"
LANGUAGE_NAMES = {"es": "Español", "en": "English"}


class RequestDomain(Domain):
    """Flask-Babel's message domain, with the request's catalog looked up once per request.

    Flask-Babel finds the catalog again for every message (the locale, its name, a cache key):
    about 40 µs, and a queue page of 50 rows shows some 500 messages. The catalog is kept where
    Flask-Babel itself expects it (`babel_translations` on its request namespace), which
    `force_locale` and `refresh` reset, so switching languages mid-request still works.
    """

    def get_translations(self) -> Any:
        namespace = g.get("_flask_babel") if g else None
        cached = getattr(namespace, "babel_translations", None)
        if cached is not None:
            return cached
        translations = super().get_translations()
        namespace = g.get("_flask_babel") if g else None
        if namespace is not None:
            namespace.babel_translations = translations
        return translations


babel = Babel()
# Both apps share the domain; the catalog directories come from each app's config.
babel.domain_instance = RequestDomain()
bp = Blueprint("language", __name__)


def init_i18n(app: Flask, locales: tuple[str, ...], default: str) -> None:
    """Attach Flask-Babel to `app` with our catalogs and locale choice."""
    app.config["TIPLINE_LOCALES"] = locales
    app.config["BABEL_DEFAULT_LOCALE"] = default
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
    if not issubclass(app.request_class, CatalogRequest):
        app.request_class = CatalogRequest
    app.register_blueprint(bp)
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.context_processor(lambda: {"current_locale": str(get_locale() or default)})


@lru_cache(maxsize=len(LANGUAGE_NAMES) + 1)
def _wtforms_catalog(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class CatalogRequest(Request):
    """A request that gives Flask-WTF this process's copy of WTForms' messages when asked.

    Flask-WTF reads WTForms' catalog from disk again for each request's first form (about
    0.8 ms); the catalogs never change while the process runs, so each is read once. Looked up
    only when a form asks (Flask-WTF reads `request.wtforms_translations`): a request without a
    form, such as a cached read of the JSON API, does not even choose its language for it.
    """

    @property
    def wtforms_translations(self) -> support.NullTranslations:
        """WTForms' messages in this request's language."""
        return _wtforms_catalog(str(get_locale()))


def N_(message: str) -> str:
    """Mark `message` for translation without translating it (it is translated when shown)."""
    return message


def select_locale() -> str:
    """The reader's choice (a cookie set by the switch), else the browser's, else the default."""
    locales: tuple[str, ...] = current_app.config["TIPLINE_LOCALES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in locales:
        return chosen
    best = request.accept_languages.best_match(locales)
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.get("/language/<code>")
def switch(code: str) -> Response:
    """Remember the chosen language and go back to the page the reader was on."""
    target = local_path(request.args.get("next")) or "/"
    response = redirect(target, code=303)
    if code in current_app.config["TIPLINE_LOCALES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
