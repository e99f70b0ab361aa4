"""Login, logout, first setup, invitation acceptance, password reset and the account page."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash

from coordination.auth import services
from coordination.auth.forms import (
    AcceptInvitationForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SetupForm,
)
from coordination.auth.models import Locale, UserSession
from coordination.calendar import services as calendar
from coordination.calendar.forms import TokenForm
from coordination.extensions import db, limiter
from coordination.forms import as_choices
from coordination.organizations.services import organization_choices, organizations_by_ids
from coordination.security import no_referrer, safe_next

auth_bp = Blueprint("auth", __name__, url_prefix="/auth")
setup_bp = Blueprint("setup", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


@auth_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Log in with email and password."""
    next_url = safe_next(request.args.get("next"), url_for("main.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            services.start_session(user)
            db.session.commit()
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(next_url, 303)
        # One message for unknown addresses and wrong passwords: no account enumeration.
        form.password.errors = [_("Email address or password is wrong.")]
    return render_template("auth/login.html", form=form)


@auth_bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """End this session on the server, so a copy of the cookie is useless afterwards."""
    if current_user.is_authenticated:
        services.end_session()
        db.session.commit()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("main.index"), 303)


@setup_bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    """Create the first admin account; exists only while there is no account at all."""
    if services.user_count() > 0:
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        user = services.create_first_admin(
            email=form.email.data,
            name=form.name.data,
            password=form.password.data,
            locale=Locale(form.locale.data),
        )
        if user is None:  # someone else finished the setup a moment earlier
            db.session.rollback()
            abort(404)
        services.start_session(user)
        db.session.commit()
        flash(_("Your admin account is ready. Next, invite the moderators."), "success")
        return redirect(url_for("main.index"), 303)
    return render_template("auth/setup.html", form=form)


@auth_bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_token_limit, methods=["POST"])
@no_referrer
def accept_invitation(token: str) -> ResponseReturnValue:
    """Create an account from an invitation link (single use, expires)."""
    invitation = services.find_open_invitation(token)
    if invitation is None:
        return render_template("auth/link_invalid.html"), 404
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.locale.data = invitation.locale.value
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(
                invitation,
                name=form.name.data,
                password=form.password.data,
                locale=Locale(form.locale.data),
            )
        except services.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return render_template("auth/link_invalid.html"), 409
        if current_user.is_authenticated:  # someone else was logged in in this browser
            services.end_session()
        services.start_session(user)
        db.session.commit()
        flash(_("Welcome to the network, %(name)s!", name=user.name), "success")
        return redirect(url_for("main.index"), 303)
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)


@auth_bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def request_reset() -> ResponseReturnValue:
    """Ask for a password-reset link. Known and unknown addresses get the same answer."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _(
                "If an account exists for this address, we have sent a link to it. "
                "It is valid for two hours."
            ),
            "info",
        )
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/reset_request.html", form=form)


@auth_bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_token_limit, methods=["POST"])
@no_referrer
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password through a reset link."""
    reset = services.find_valid_reset(token)
    if reset is None:
        return render_template("auth/link_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.complete_password_reset(reset, form.password.data)
        except services.AccountError:
            db.session.rollback()
            return render_template("auth/link_invalid.html"), 409
        services.start_session(user)
        db.session.commit()
        flash(_("Your password has been changed. All other sessions were ended."), "success")
        return redirect(url_for("main.index"), 303)
    return render_template("auth/reset_password.html", form=form)


@account_bp.route("/", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    """The user's own profile: name, language, organisations; password and sessions."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=None if request.method == "POST" else user)
    form.organizations.choices = as_choices(organization_choices())
    if request.method == "GET":
        form.locale.data = user.locale.value
        form.organizations.data = [org.id for org in user.organizations]
    if form.validate_on_submit():
        services.update_profile(
            user,
            name=form.name.data,
            locale=Locale(form.locale.data),
            organizations=organizations_by_ids(form.organizations.data),
        )
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("account.profile"), 303)
    return render_account(form, PasswordChangeForm(formdata=None))


@account_bp.route("/password", methods=["POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password; every other session of the account ends."""
    user = current_user._get_current_object()
    password_form = PasswordChangeForm()
    if password_form.validate_on_submit():
        if check_password_hash(user.password_hash, password_form.current_password.data):
            services.change_password(user, password_form.password.data)
            db.session.commit()
            flash(_("Your password has been changed. All other sessions were ended."), "success")
            return redirect(url_for("account.profile"), 303)
        password_form.current_password.errors = [_("This is not your current password.")]
    return render_account(password_form=password_form), 400


@account_bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions() -> ResponseReturnValue:
    """Log out every other browser and device (CSRFProtect has checked the token)."""
    ended = services.end_other_sessions(current_user._get_current_object())
    db.session.commit()
    flash(_("%(num)d other sessions were ended.", num=ended), "success")
    return redirect(url_for("account.profile"), 303)


def render_account(
    form: ProfileForm | None = None,
    password_form: PasswordChangeForm | None = None,
    token_form: TokenForm | None = None,
) -> str:
    """The account page; the forms passed in keep what was submitted and their errors."""
    user = current_user._get_current_object()
    if form is None:
        form = ProfileForm(formdata=None, obj=user)
        form.organizations.choices = as_choices(organization_choices())
        form.locale.data = user.locale.value
        form.organizations.data = [org.id for org in user.organizations]
    sessions: list[UserSession] = services.active_sessions(user)
    return render_template(
        "account/profile.html",
        form=form,
        password_form=password_form or PasswordChangeForm(formdata=None),
        sessions=sessions,
        is_current_session=services.is_current_session,
        token_form=token_form or TokenForm(formdata=None),
        calendar_tokens=calendar.tokens_of(user),
        new_feed=calendar.new_token_links(),
    )
