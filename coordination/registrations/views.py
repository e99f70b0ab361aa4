"""Registering for meetings: members in one click, guests with double opt-in, waitlists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
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
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.extensions import db, limiter
from coordination.meetings.models import Meeting, Visibility
from coordination.meetings.permissions import can_view_meeting, can_view_registrations
from coordination.organizations.models import Organization
from coordination.organizations.services import organization_choices
from coordination.registrations import services
from coordination.registrations.forms import GuestRegistrationForm, MemberRegistrationForm
from coordination.registrations.models import Registration, RegistrationStatus
from coordination.security import no_referrer, safe_next

bp = Blueprint("registrations", __name__, url_prefix="/meetings")

#: Guest registrations per client address (override with GUEST_REGISTRATION_RATE_LIMIT).
GUEST_RATE_LIMIT = "10 per hour"

#: Longest ``next`` address accepted after registering (longer ones fall back to the meeting).
MAX_NEXT_LENGTH = 500


def _guest_limit() -> str:
    return str(current_app.config.get("GUEST_REGISTRATION_RATE_LIMIT", GUEST_RATE_LIMIT))


def _token_limit() -> str:
    return str(current_app.config["TOKEN_RATE_LIMIT"])


def _visible_meeting(meeting_id: int) -> Meeting:
    meeting = db.get_or_404(Meeting, meeting_id)
    if not can_view_meeting(current_user, meeting):
        abort(404)
    return meeting


def meeting_path(meeting: Meeting) -> str:
    """The meeting page (``/meetings/<id>``, served by the meetings blueprint)."""
    return f"{request.script_root}/meetings/{meeting.id}"


def _back(meeting: Meeting) -> str:
    target = request.form.get("next", "")
    if len(target) > MAX_NEXT_LENGTH:
        target = ""
    return safe_next(target, meeting_path(meeting) + "#registration")


def _member_form(user: Any, **kwargs: Any) -> MemberRegistrationForm:
    form = MemberRegistrationForm(**kwargs)
    organizations = user.organizations
    form.set_choices(organization_choices(), organizations[0].id if organizations else None)
    return form


# --- template global ------------------------------------------------------------------------


@dataclass
class RegistrationSummary:
    """What the registration panel of a meeting page shows (see ``registration_summary``)."""

    meeting: Meeting
    #: Seats in total; ``None``: unlimited.
    capacity: int | None
    confirmed: int
    waitlisted: int
    pending: int
    #: Free seats; ``None``: unlimited.
    seats_left: int | None
    is_open: bool
    #: Why registration is closed (translated), or ``None``.
    closed_reason: str | None
    #: The current user's active registration (pending, confirmed or waitlisted), if any.
    registration: Registration | None
    #: 1-based position on the waitlist of the current user's registration.
    waitlist_position: int | None
    #: Whether the current user may cancel their registration now.
    can_cancel: bool
    #: Whether people without an account may register (public meeting allowing guests).
    accepts_guests: bool
    #: Whether the current user may see the list of registrations.
    can_view_list: bool
    #: The one-click form (organisation choice) when the current user may register now.
    form: MemberRegistrationForm | None


@bp.app_template_global()
def registration_summary(meeting: Meeting) -> RegistrationSummary:
    """Registration state of ``meeting`` for the current user, for meeting pages and lists.

    Attributes: ``capacity``, ``confirmed``, ``waitlisted``, ``pending`` (counts),
    ``seats_left`` (``None``: unlimited), ``is_open``, ``closed_reason``, ``registration``
    (the current user's active one), ``waitlist_position``, ``can_cancel``, ``accepts_guests``,
    ``can_view_list`` and ``form`` (the member form, when registering is possible).
    Costs a constant number of queries (about five).
    """
    counts = services.status_counts(meeting)
    reason = services.closed_reason(meeting)
    registration = services.active_registration_for_user(meeting, current_user)
    form = None
    if current_user.is_authenticated and registration is None and reason is None:
        form = _member_form(current_user, formdata=None)
    return RegistrationSummary(
        meeting=meeting,
        capacity=meeting.capacity,
        confirmed=counts[RegistrationStatus.CONFIRMED],
        waitlisted=counts[RegistrationStatus.WAITLISTED],
        pending=counts[RegistrationStatus.PENDING],
        seats_left=services.seats_left(meeting, counts[RegistrationStatus.CONFIRMED]),
        is_open=reason is None,
        closed_reason=str(reason) if reason is not None else None,
        registration=registration,
        waitlist_position=services.waitlist_position(registration) if registration else None,
        can_cancel=registration is not None and services.can_cancel(registration),
        accepts_guests=services.accepts_guests(meeting),
        can_view_list=can_view_registrations(current_user, meeting),
        form=form,
    )


# --- members --------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/register", methods=["POST"])
@login_required
def register(meeting_id: int) -> ResponseReturnValue:
    """Register the current user (confirmed, or waitlisted when the meeting is full)."""
    meeting = _visible_meeting(meeting_id)
    reason = services.closed_reason(meeting)
    if reason is not None:
        flash(str(reason), "error")
        return redirect(_back(meeting), 303)
    user = current_user._get_current_object()
    form = _member_form(user)
    if not form.validate_on_submit():
        return render_template("registrations/register.html", meeting=meeting, form=form)
    organization_id = form.chosen_organization_id()
    organization = db.session.get(Organization, organization_id) if organization_id else None
    try:
        registration = services.register_member(
            meeting,
            user,
            organization=organization,
            organization_name="" if organization else form.organization_name.data or "",
        )
    except services.AlreadyRegistered as error:
        db.session.rollback()
        flash(str(error), "info")
    except services.RegistrationClosed as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if registration.status is RegistrationStatus.CONFIRMED:
            flash(_("You are registered for %(title)s.", title=meeting.title), "success")
        else:
            flash(
                _(
                    "The meeting is full: you are on the waitlist at position %(position)d. "
                    "We will email you if a seat becomes free.",
                    position=services.waitlist_position(registration) or 1,
                ),
                "info",
            )
    return redirect(_back(meeting), 303)


@bp.route("/<int:meeting_id>/unregister", methods=["POST"])
@login_required
def unregister(meeting_id: int) -> ResponseReturnValue:
    """Cancel the current user's registration (until the meeting starts)."""
    meeting = _visible_meeting(meeting_id)
    registration = services.active_registration_for_user(meeting, current_user)
    if registration is None:
        flash(_("You are not registered for this meeting."), "info")
        return redirect(_back(meeting), 303)
    try:
        services.cancel_registration(registration, actor=current_user._get_current_object())
    except services.CancellationClosed as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Your registration has been cancelled."), "success")
    return redirect(_back(meeting), 303)


# --- guests ---------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/guest", methods=["GET", "POST"])
@limiter.limit(_guest_limit, methods=["POST"])
def guest(meeting_id: int) -> ResponseReturnValue:
    """Register without an account (public meetings that allow guests); double opt-in."""
    meeting = _visible_meeting(meeting_id)
    if meeting.visibility is not Visibility.PUBLIC:
        abort(404)
    if not meeting.allows_guests:
        abort(403)
    reason = services.closed_reason(meeting)
    form = GuestRegistrationForm()
    if request.method == "POST":
        if reason is not None:
            flash(str(reason), "error")
            return redirect(url_for(".guest", meeting_id=meeting.id), 303)
        if form.validate_on_submit():
            try:
                services.register_guest(
                    meeting,
                    name=form.name.data,
                    email=form.email.data,
                    organization_name=form.organization_name.data or "",
                    locale=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
                )
            except services.RegistrationError as error:
                db.session.rollback()
                flash(str(error), "error")
                return redirect(url_for(".guest", meeting_id=meeting.id), 303)
            db.session.commit()
            # The same answer for new and repeated registrations: nobody learns who registered.
            return redirect(url_for(".guest", meeting_id=meeting.id, sent=1), 303)
    return render_template(
        "registrations/guest.html",
        meeting=meeting,
        form=form,
        closed_reason=str(reason) if reason is not None else None,
        sent=request.method == "GET" and request.args.get("sent") == "1",
        meeting_url=meeting_path(meeting),
    )


@bp.route("/registration/<token>", methods=["GET", "POST"])
@limiter.limit(_token_limit, methods=["POST"])
@no_referrer
def manage(token: str) -> ResponseReturnValue:
    """A guest's link: confirm the registration (POST), see its state, cancel it (POST).

    GET never changes anything: mail scanners open links before people do.
    """
    registration = services.find_guest_registration(token)
    if registration is None:
        return render_template("registrations/link_invalid.html"), 404
    meeting = registration.meeting
    if request.method == "POST":
        action = request.form.get("action")
        if action == "confirm":
            _confirm(registration)
        elif action == "cancel":
            _cancel_as_guest(registration)
        else:
            abort(400)
        return redirect(url_for(".manage", token=token), 303)
    return render_template(
        "registrations/manage.html",
        registration=registration,
        meeting=meeting,
        position=services.waitlist_position(registration),
        can_cancel=services.can_cancel(registration),
        meeting_url=meeting_path(meeting) if can_view_meeting(current_user, meeting) else None,
    )


def _confirm(registration: Registration) -> None:
    if registration.status is not RegistrationStatus.PENDING:
        flash(_("Your registration was already confirmed."), "info")
        return
    try:
        services.confirm_guest(registration)
    except services.RegistrationClosed as error:
        db.session.rollback()
        flash(str(error), "error")
        return
    db.session.commit()
    if registration.status is RegistrationStatus.CONFIRMED:
        flash(_("Thank you: your registration is confirmed."), "success")
    elif registration.status is RegistrationStatus.WAITLISTED:
        flash(
            _(
                "Thank you. The meeting is full: you are on the waitlist. "
                "We will email you if a seat becomes free."
            ),
            "info",
        )


def _cancel_as_guest(registration: Registration) -> None:
    if registration.status is RegistrationStatus.CANCELLED:
        flash(_("This registration is already cancelled."), "info")
        return
    try:
        services.cancel_registration(registration)
    except services.CancellationClosed as error:
        db.session.rollback()
        flash(str(error), "error")
        return
    db.session.commit()
    flash(_("Your registration has been cancelled."), "success")


# --- managers -------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/registrations")
@login_required
def registration_list(meeting_id: int) -> ResponseReturnValue:
    """Everyone registered: confirmed, waitlist in order, pending guests, cancelled."""
    meeting = _visible_meeting(meeting_id)
    if not can_view_registrations(current_user, meeting):
        abort(403)
    registrations = services.registrations_for(meeting, statuses=tuple(RegistrationStatus))
    by_status: dict[RegistrationStatus, list[Registration]] = {s: [] for s in RegistrationStatus}
    for registration in registrations:
        by_status[registration.status].append(registration)
    return render_template(
        "registrations/list.html",
        meeting=meeting,
        by_status=by_status,
        statuses=RegistrationStatus,
        seats_left=services.seats_left(meeting, len(by_status[RegistrationStatus.CONFIRMED])),
        meeting_url=meeting_path(meeting),
    )


@bp.route("/<int:meeting_id>/registrations/<int:registration_id>/remove", methods=["POST"])
@login_required
def remove(meeting_id: int, registration_id: int) -> ResponseReturnValue:
    """A manager removes a registration; the first waitlisted person moves up."""
    meeting = _visible_meeting(meeting_id)
    if not can_view_registrations(current_user, meeting):
        abort(403)
    registration = db.session.scalar(
        sa.select(Registration).where(
            Registration.id == registration_id, Registration.meeting_id == meeting.id
        )
    )
    if registration is None:
        abort(404)
    if registration.status is RegistrationStatus.CANCELLED:
        flash(_("This registration is already cancelled."), "info")
    else:
        name = registration.display_name
        promoted = services.remove_registration(
            registration, actor=current_user._get_current_object()
        )
        db.session.commit()
        message = _("The registration of %(name)s has been removed.", name=name)
        if promoted:
            message += " " + ngettext(
                "%(num)d person moved up from the waitlist.",
                "%(num)d people moved up from the waitlist.",
                len(promoted),
            )
        flash(message, "success")
    return redirect(url_for(".registration_list", meeting_id=meeting.id), 303)
