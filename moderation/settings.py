"""The admins' settings pages: moderation settings, articles' comment modes, staff accounts.

Each page parses its form, calls a plain function (core.site_settings, core.article_modes,
moderation.staff_accounts) that writes the audit row, and redirects. The worker reads the
moderation settings again within settings.knowledge_ttl_seconds.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from core import limits, tipkeys
from core.app import current_settings
from core.article_modes import set_mode
from core.db import db
from core.enums import ModerationMode, Premoderation, Role
from core.errors import error_page
from core.models import Article, StaffUser
from core.site_settings import load, save, word_list
from core.staff import MIN_PASSWORD_LENGTH
from moderation.access import current_staff, ensure_role
from moderation.display import ROLE_LABELS
from moderation.staff_accounts import (
    DuplicateError,
    LastAdminError,
    change_role,
    create_account,
    generated_password,
    reset_two_factor,
    set_active,
    staff_list,
)

bp = Blueprint("settings", __name__, url_prefix="/settings")

ARTICLES_PER_PAGE = 50
FLAG_THRESHOLD_MAX = 100
AUTO_CLOSE_DAYS_MAX = 3650
RETENTION_DAYS_MAX = 3650
URGENT_WORDS_MAX = 2000

PREMODERATION_LABELS = {
    Premoderation.off: _l("Off: only what the checks and the article's mode hold"),
    Premoderation.new_commenters: _l("New commenters: those with no published comment yet"),
    Premoderation.links: _l("Comments with links"),
    Premoderation.all: _l("All comments"),
}
MODE_LABELS = {
    ModerationMode.post: _l("Open: published when the checks pass"),
    ModerationMode.pre: _l("Pre-moderated: every comment waits"),
    ModerationMode.closed: _l("Closed: no new comments"),
}


class SettingsForm(FlaskForm):
    """The moderation settings."""

    premoderation = SelectField(
        _l("Site-wide pre-moderation"),
        choices=[(p.value, label) for p, label in PREMODERATION_LABELS.items()],
    )
    flag_threshold = IntegerField(
        _l("Reader reports that move a comment to the Reported queue"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(1, FLAG_THRESHOLD_MAX, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    auto_close_days = IntegerField(
        _l("Close articles to comments after this many days (0: never)"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(0, AUTO_CLOSE_DAYS_MAX, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    tip_retention_days = IntegerField(
        _l("Delete closed tips after this many days (0: never)"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(0, RETENTION_DAYS_MAX, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    codename_days = IntegerField(
        _l("A source's codename stops working after this many days if nobody replied"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(1, RETENTION_DAYS_MAX, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    require_totp = BooleanField(_l("Require two-factor login for every staff account"))
    urgent_words = StringField(
        _l("Words that make a tip urgent (separated by commas)"),
        validators=[Length(max=URGENT_WORDS_MAX, message=_l("At most %(max)d characters."))],
    )


class ModeForm(FlaskForm):
    """One article's comments mode."""

    mode = SelectField(
        _l("Comments"), choices=[(m.value, label) for m, label in MODE_LABELS.items()]
    )


class StaffForm(FlaskForm):
    """A new staff account."""

    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Length(max=limits.EMAIL_MAX),
            Email(_l("Enter an e-mail address."), check_deliverability=False),
        ],
    )
    role = SelectField(_l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    password = PasswordField(
        _l("Initial password (leave empty to generate one)"),
        validators=[
            Optional(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=_l("The password must have at least %(min)d characters."),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(FlaskForm):
    """A staff member's new role."""

    role = SelectField(_l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])


class ActionForm(FlaskForm):
    """Only the CSRF token: the action and the account are in the URL."""


@bp.before_request
def admins_only() -> None:
    """Every settings route, present and future, is for admins."""
    ensure_role(Role.admin)


# --- moderation settings -------------------------------------------------------------------


@bp.get("")
def index() -> ResponseReturnValue:
    """The moderation settings form, filled with the current values."""
    current = load(db.session)
    form = SettingsForm(
        formdata=None,
        premoderation=current.premoderation.value,
        flag_threshold=current.flag_threshold,
        auto_close_days=current.auto_close_days,
        tip_retention_days=current.tip_retention_days,
        codename_days=current.codename_days,
        require_totp=current.require_totp,
        urgent_words=current.urgent_words,
    )
    return _render_settings(form)


@bp.post("")
def update() -> ResponseReturnValue:
    """Save the moderation settings (each change audited)."""
    form = SettingsForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_settings(form, code=422)
    changed = save(
        db.session,
        current_staff(),
        premoderation=form.premoderation.data,
        flag_threshold=form.flag_threshold.data,
        auto_close_days=form.auto_close_days.data,
        tip_retention_days=form.tip_retention_days.data,
        codename_days=form.codename_days.data,
        require_totp=bool(form.require_totp.data),
        urgent_words=", ".join(word_list(form.urgent_words.data or "")),
    )
    if changed:
        flash(_("Settings saved."), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".index"), code=303)


def _render_settings(form: SettingsForm, code: int = 200) -> ResponseReturnValue:
    body = render_template("settings.html", form=form, ttl=current_settings().knowledge_ttl_seconds)
    return body, code


# --- articles ------------------------------------------------------------------------------


def find_articles(
    session: Session, term: str, page: int, per_page: int = ARTICLES_PER_PAGE
) -> tuple[list[Article], bool]:
    """A page of articles, newest first, whose title or slug contains `term`; and if more."""
    query = select(Article).order_by(Article.created_at.desc(), Article.id.desc())
    if term:
        pattern = "%" + term.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        pattern += "%"
        query = query.where(
            func.lower(Article.title).like(pattern, escape="\\")
            | func.lower(Article.slug).like(pattern, escape="\\")
        )
    rows = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


@bp.get("/articles")
def articles() -> ResponseReturnValue:
    """The articles, searchable by title, each with its comments mode."""
    term = (request.args.get("q") or "").strip()[:200]
    page = request.args.get("page", 1, type=int) or 1
    page = max(1, min(page, 100_000))
    found, more = find_articles(db.session, term, page)
    return render_template(
        "settings_articles.html",
        articles=found,
        more=more,
        page=page,
        term=term,
        modes=MODE_LABELS,
    )


@bp.post("/articles/<int:article_id>/mode")
def article_mode(article_id: int) -> ResponseReturnValue:
    """Change one article's comments mode (audited)."""
    form = ModeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return error_page(422, _("Choose open, pre-moderated or closed."))
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404)
    mode = ModerationMode(form.mode.data)
    if set_mode(db.session, article, mode, current_staff()):
        db.session.commit()
        flash(
            _("%(title)s: %(mode)s.", title=article.title, mode=MODE_LABELS[mode]),
            "success",
        )
    back = url_for(".articles", q=request.args.get("q") or None, page=request.args.get("page"))
    return redirect(back, code=303)


# --- staff accounts ------------------------------------------------------------------------


@bp.get("/staff")
def staff() -> ResponseReturnValue:
    """Every staff account, and a form to add one."""
    return _render_staff(StaffForm(formdata=None))


@bp.post("/staff")
def staff_create() -> ResponseReturnValue:
    """Add a staff account; a generated password is shown once, on this page only."""
    form = StaffForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_staff(form, code=422)
    password = form.password.data or generated_password()
    try:
        user = create_account(
            db.session, current_staff(), form.email.data or "", Role(form.role.data), password
        )
    except DuplicateError:
        db.session.rollback()
        form.email.errors = [_("A staff account with this e-mail already exists.")]
        return _render_staff(form, code=422)
    flash(_("Account created for %(email)s.", email=user.email), "success")
    if form.password.data:
        return redirect(url_for(".staff"), code=303)
    # Rendered, not redirected: the password must not travel in a flash message (a cookie).
    return _render_staff(StaffForm(formdata=None), created=user, password=password)


@bp.post("/staff/<int:user_id>/role")
def staff_role(user_id: int) -> ResponseReturnValue:
    """Change a staff member's role (ends their sessions)."""
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    user = _staff_or_404(user_id)
    try:
        if change_role(db.session, current_staff(), user, Role(form.role.data)):
            flash(_("%(email)s is now %(role)s.", email=user.email, role=ROLE_LABELS[user.role]))
    except LastAdminError:
        db.session.rollback()
        flash(_("The last active admin cannot be demoted: make someone else admin first."), "error")
    return redirect(url_for(".staff"), code=303)


@bp.post("/staff/<int:user_id>/deactivate")
def staff_deactivate(user_id: int) -> ResponseReturnValue:
    """Deactivate an account: it can no longer log in, and its sessions end."""
    return _set_active(user_id, False)


@bp.post("/staff/<int:user_id>/reactivate")
def staff_reactivate(user_id: int) -> ResponseReturnValue:
    """Let a deactivated account log in again."""
    return _set_active(user_id, True)


@bp.post("/staff/<int:user_id>/reset-two-factor")
def staff_reset_two_factor(user_id: int) -> ResponseReturnValue:
    """Remove an account's second factor (a lost phone): they set it up again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = _staff_or_404(user_id)
    if reset_two_factor(db.session, current_staff(), user):
        flash(_("Two-factor login reset for %(email)s.", email=user.email), "success")
    return redirect(url_for(".staff"), code=303)


def _set_active(user_id: int, active: bool) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    user = _staff_or_404(user_id)
    try:
        if set_active(db.session, current_staff(), user, active):
            if active:
                flash(_("%(email)s can log in again.", email=user.email), "success")
            else:
                flash(_("%(email)s is deactivated and logged out.", email=user.email), "success")
    except LastAdminError:
        db.session.rollback()
        flash(
            _("The last active admin cannot be deactivated: make someone else admin first."),
            "error",
        )
    return redirect(url_for(".staff"), code=303)


def _staff_or_404(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _render_staff(
    form: StaffForm,
    code: int = 200,
    created: StaffUser | None = None,
    password: str | None = None,
) -> ResponseReturnValue:
    body = render_template(
        "settings_staff.html",
        form=form,
        accounts=staff_list(db.session),
        # Who holds the tip key (core.tipkeys): they can read tips; it is granted from the CLI.
        key_holders={user.id for user in tipkeys.holders(db.session)},
        roles=ROLE_LABELS,
        created=created,
        password=password,
    )
    return body, code
