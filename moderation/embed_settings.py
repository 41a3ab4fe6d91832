"""Settings → Embed & API, for admins: allowed origins, the embed snippet, API tokens, webhooks.

A token's plaintext and a webhook's signing secret are shown once, in the response to the POST
that made them (never in a flash message, which travels in a cookie), with Cache-Control
no-store so that no cache or back button keeps them. Each change is audited by the plain
function it calls (core.site_settings, core.api_tokens, core.webhook_endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from core import api_tokens, origins, site_settings, webhook_endpoints
from core.app import current_settings
from core.db import db
from core.enums import Role
from core.models import ApiToken, StaffUser, WebhookEndpoint
from moderation.access import current_staff, ensure_role

bp = Blueprint("embed_settings", __name__, url_prefix="/settings/embed")

ORIGINS_MAX = 20_000
# The article key shown in the snippet, for the outlet's template to fill in.
KEY_PLACEHOLDER = "ARTICLE-KEY"
CSS_PROPERTIES = (
    "--tipline-font",
    "--tipline-text",
    "--tipline-muted",
    "--tipline-accent",
    "--tipline-background",
    "--tipline-border",
    "--tipline-radius",
    "--tipline-spacing",
)
# core.origins explains a bad line in English; these say the same in the admin's language.
ORIGIN_PROBLEMS = (
    ("must start with https:// or http://", _l("%(line)s must start with https:// or http://.")),
    ("has no host name", _l("%(line)s has no host name.")),
    (
        "must not contain a user name or password",
        _l("%(line)s must not contain a user name or password."),
    ),
    (
        "must be only a scheme and a host, without a path",
        _l("%(line)s must be only a scheme and a host, without a path."),
    ),
    ("has an invalid port", _l("%(line)s has an invalid port.")),
)
WEBHOOK_PROBLEMS = {
    "Enter the endpoint's URL.": _l("Enter the endpoint's URL."),
    "This is not a valid URL.": _l("This is not a valid URL."),
    "The URL must start with https:// (or http://) and name a host.": _l(
        "The URL must start with https:// (or http://) and name a host."
    ),
    "The URL must not contain a user name or password.": _l(
        "The URL must not contain a user name or password."
    ),
}


class OriginsForm(FlaskForm):
    """The sites allowed to embed threads, one origin per line."""

    embed_origins = TextAreaField(
        _l("Allowed origins (one per line)"),
        validators=[Length(max=ORIGINS_MAX, message=_l("At most %(max)d characters."))],
        render_kw={"rows": 6, "spellcheck": "false", "autocomplete": "off"},
    )


class TokenForm(FlaskForm):
    """A new API token's name."""

    name = StringField(
        _l("Name (who uses it, e.g. “CMS production”)"),
        validators=[
            DataRequired(_l("Give the token a name.")),
            Length(max=api_tokens.NAME_MAX, message=_l("At most %(max)d characters.")),
        ],
    )


class WebhookForm(FlaskForm):
    """A new webhook endpoint's URL."""

    url = StringField(
        _l("Endpoint URL"),
        validators=[
            DataRequired(_l("Enter the endpoint's URL.")),
            Length(max=webhook_endpoints.URL_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"type": "url", "spellcheck": "false", "placeholder": "https://"},
    )


class ActionForm(FlaskForm):
    """Only the CSRF token: the action and the row are in the URL."""


@dataclass(frozen=True)
class TokenRow:
    """An API token as the list shows it."""

    id: int
    name: str
    prefix: str
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@bp.before_request
def admins_only() -> None:
    """Tokens, webhooks and origins open the site to others: admins only."""
    ensure_role(Role.admin)


def token_rows(session: Session) -> list[TokenRow]:
    """Every API token with its creator's e-mail: active ones first, newest first."""
    query = (
        select(ApiToken, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == ApiToken.created_by_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [
        TokenRow(t.id, t.name, t.prefix, email, t.created_at, t.last_used_at, t.revoked_at)
        for t, email in session.execute(query)
    ]


def embed_snippet(public_url: str, link_text: str) -> str:
    """The HTML an outlet pastes into its article template."""
    return (
        '<div id="tipline-comments"></div>\n'
        f'<script src="{public_url}/embed.js" data-article="{KEY_PLACEHOLDER}" async></script>\n'
        f'<noscript><a href="{public_url}/articles/{KEY_PLACEHOLDER}">{link_text}</a></noscript>'
    )


def origin_problem(problem: str) -> str:
    """A core.origins message about a bad line, in the admin's language."""
    for ending, message in ORIGIN_PROBLEMS:
        if ending in problem:
            line = problem[: problem.index(ending)].strip()
            return str(message % {"line": line})
    return problem


# --- the page ------------------------------------------------------------------------------


@bp.get("")
def index() -> ResponseReturnValue:
    """The Embed & API page."""
    return _render()


@bp.post("/origins")
def save_origins() -> ResponseReturnValue:
    """Save the allowed origins, normalised; every bad line is named on the form."""
    form = OriginsForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(origins_form=form, code=422)
    allowed, problems = origins.validate(form.embed_origins.data or "")
    if problems:
        form.embed_origins.errors = [origin_problem(p) for p in problems]
        return _render(origins_form=form, code=422)
    changed = site_settings.save(db.session, current_staff(), embed_origins="\n".join(allowed))
    flash(_("Allowed origins saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for(".index", _anchor="origins"), code=303)


@bp.post("/tokens")
def add_token() -> ResponseReturnValue:
    """Make an API token; its plaintext is shown in this response only."""
    form = TokenForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(token_form=form, code=422)
    name = (form.name.data or "").strip()
    token, plaintext = api_tokens.create_token(
        db.session, current_settings().hash_key, name, current_staff()
    )
    return _render(new_token=(token.name, plaintext))


@bp.get("/tokens/<int:token_id>/revoke")
def confirm_revoke(token_id: int) -> ResponseReturnValue:
    """Ask before revoking a token: the CMS using it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        abort(404)
    return render_template(
        "settings_embed_confirm.html",
        question=_("Revoke the API token “%(name)s”?", name=token.name),
        consequence=_("Whatever uses it will be refused from now on. This cannot be undone."),
        action=url_for(".revoke", token_id=token.id),
        button=_("Revoke"),
    )


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token (audited)."""
    _require_csrf()
    if api_tokens.revoke_token(db.session, token_id, current_staff()):
        flash(_("Token revoked."), "success")
    return redirect(url_for(".index", _anchor="tokens"), code=303)


@bp.post("/webhooks")
def add_webhook() -> ResponseReturnValue:
    """Add a webhook endpoint; its signing secret is shown in this response only."""
    form = WebhookForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(webhook_form=form, code=422)
    try:
        endpoint, secret = webhook_endpoints.add_endpoint(
            db.session, form.url.data or "", current_staff()
        )
    except webhook_endpoints.BadWebhookUrl as exc:
        form.url.errors = [str(WEBHOOK_PROBLEMS.get(str(exc), str(exc)))]
        return _render(webhook_form=form, code=422)
    return _render(new_secret=(endpoint.url, secret))


@bp.post("/webhooks/<int:endpoint_id>/disable")
def disable_webhook(endpoint_id: int) -> ResponseReturnValue:
    """Stop sending to an endpoint (deliveries already queued wait)."""
    return _set_active(endpoint_id, False)


@bp.post("/webhooks/<int:endpoint_id>/enable")
def enable_webhook(endpoint_id: int) -> ResponseReturnValue:
    """Send to an endpoint again."""
    return _set_active(endpoint_id, True)


@bp.get("/webhooks/<int:endpoint_id>/delete")
def confirm_delete_webhook(endpoint_id: int) -> ResponseReturnValue:
    """Ask before deleting an endpoint and its deliveries."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return render_template(
        "settings_embed_confirm.html",
        question=_("Delete the webhook %(url)s?", url=endpoint.url),
        consequence=_("Its record of deliveries goes with it. To pause it instead, disable it."),
        action=url_for(".delete_webhook", endpoint_id=endpoint.id),
        button=_("Delete"),
    )


@bp.post("/webhooks/<int:endpoint_id>/delete")
def delete_webhook(endpoint_id: int) -> ResponseReturnValue:
    """Delete an endpoint (audited)."""
    _require_csrf()
    if webhook_endpoints.delete_endpoint(db.session, endpoint_id, current_staff()):
        flash(_("Webhook deleted."), "success")
    return redirect(url_for(".index", _anchor="webhooks"), code=303)


def _set_active(endpoint_id: int, active: bool) -> ResponseReturnValue:
    _require_csrf()
    if webhook_endpoints.set_active(db.session, endpoint_id, active, current_staff()):
        flash(_("Webhook enabled.") if active else _("Webhook disabled."), "success")
    return redirect(url_for(".index", _anchor="webhooks"), code=303)


def _require_csrf() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _render(
    *,
    origins_form: OriginsForm | None = None,
    token_form: TokenForm | None = None,
    webhook_form: WebhookForm | None = None,
    new_token: tuple[str, str] | None = None,
    new_secret: tuple[str, str] | None = None,
    code: int = 200,
) -> ResponseReturnValue:
    session = db.session
    public_url = current_settings().intake_url
    if origins_form is None:
        stored = site_settings.load(session).embed_origins
        origins_form = OriginsForm(formdata=None, embed_origins=stored)
    body = render_template(
        "settings_embed.html",
        origins_form=origins_form,
        token_form=token_form or TokenForm(formdata=None),
        webhook_form=webhook_form or WebhookForm(formdata=None),
        new_token=new_token,
        new_secret=new_secret,
        public_url=public_url,
        snippet=embed_snippet(public_url, _("Read and write comments")),
        key_placeholder=KEY_PLACEHOLDER,
        css_properties=CSS_PROPERTIES,
        tokens=token_rows(session),
        endpoints=webhook_endpoints.list_endpoints(session),
        deliveries=webhook_endpoints.recent_deliveries(session),
        is_insecure=webhook_endpoints.is_insecure,
    )
    # A secret on the page: no cache, proxy or back button may keep it.
    return body, code, {"Cache-Control": "no-store"}
