"""Notification pages: mail settings, one-click unsubscribe, inviting people to meetings."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import csrf, db
from coordination.meetings.models import Meeting, MeetingSeries
from coordination.meetings.permissions import can_manage_meeting
from coordination.meetings.views import _managed_meeting, _managed_series
from coordination.notifications import invitations, preferences
from coordination.notifications.forms import (
    InviteForm,
    NotificationSettingsForm,
    topic_labels,
)
from coordination.notifications.invitations import InvitationCounts
from coordination.notifications.models import InvitationAudience
from coordination.security import no_referrer
from coordination.timeutil import local_today

bp = Blueprint("notifications", __name__)


# --- mail settings -----------------------------------------------------------------------------


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    """Which mails the member wants; mails about their own registrations always go out."""
    user = current_user._get_current_object()
    current = preferences.preferences_of(user)
    form = NotificationSettingsForm(
        data=NotificationSettingsForm.initial_data(current) if request.method == "GET" else None,
        current_lead=current.reminder_lead_hours,
    )
    if form.validate_on_submit():
        before = NotificationSettingsForm.initial_data(current)
        values = form.values()
        preferences.save_preferences(user, **values)
        changed = [name for name, value in values.items() if before[name] != value]
        if changed:
            # Which settings changed, never their owner's data beyond the id.
            audit.record(
                "notifications.settings_changed",
                actor=user,
                object_type="user",
                object_id=user.id,
                detail=",".join(changed),
            )
        db.session.commit()
        flash(_("Your mail settings have been saved."), "success")
        return redirect(url_for("notifications.settings"), 303)
    return render_template("notifications/settings.html", form=form)


# --- one-click unsubscribe ---------------------------------------------------------------------


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients POST here without a form; the signed token is the proof.
@no_referrer
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET asks (link scanners must not unsubscribe anybody); POST turns the topic off."""
    wanted = preferences.read_unsubscribe_token(token)
    if wanted is None or (
        wanted.user_id is not None and db.session.get(User, wanted.user_id) is None
    ):
        abort(404)  # not made here, or its member's account is gone
    labels = topic_labels()
    if request.method == "GET":
        return render_template(
            "notifications/unsubscribe.html", topic=labels[wanted.topic], done=False
        )
    if not preferences.apply_unsubscribe(wanted):
        abort(404)
    audit.record(
        "notifications.unsubscribed",
        actor=None,
        object_type="user" if wanted.user_id is not None else "",
        object_id=wanted.user_id,
        detail=wanted.topic.value,
    )
    db.session.commit()
    return render_template(
        "notifications/unsubscribe.html",
        topic=labels[wanted.topic],
        done=True,
        is_member=wanted.user_id is not None,
    )


# --- inviting people to an existing meeting or series ------------------------------------------


def meeting_closed_reason(meeting: Meeting) -> str | None:
    """Why nobody can be invited any more (cancelled or started), or ``None``."""
    if meeting.is_cancelled:
        return _("This meeting was cancelled; nobody can be invited to it any more.")
    if meeting.has_started(utcnow()):
        return _("This meeting has started or is over; nobody can be invited to it any more.")
    return None


def series_closed_reason(series: MeetingSeries) -> str | None:
    if series.until_date is not None and series.until_date < local_today():
        return _("This series has ended; nobody can be invited to it any more.")
    return None


@bp.route("/meetings/<int:meeting_id>/invite", methods=["GET", "POST"])
@login_required
def invite_meeting(meeting_id: int) -> ResponseReturnValue:
    """Invite more people to a meeting (whoever may manage it).

    Loaded like the meeting's other management pages: invisible 404, not manageable 403.
    """
    meeting = _managed_meeting(meeting_id)
    closed = meeting_closed_reason(meeting)
    form = InviteForm(choices=invitations.audience_choices(current_user), series=False)
    if closed is None and form.validate_on_submit():
        invitations.add_audience(actor=current_user, meeting=meeting, **form.invite_values())
        db.session.commit()
        flash(_("Invitations will be mailed within a few minutes."), "success")
        return redirect(url_for("notifications.invite_meeting", meeting_id=meeting.id), 303)
    return _render_invite(
        form,
        closed,
        meeting=meeting,
        audiences=invitations.audiences_of(meeting=meeting),
        counts=invitations.invitation_counts(meeting),
    )


@bp.route("/meetings/series/<int:series_id>/invite", methods=["GET", "POST"])
@login_required
def invite_series(series_id: int) -> ResponseReturnValue:
    """Invite more people to every coming date of a series (whoever may manage it)."""
    series = _managed_series(series_id)
    closed = series_closed_reason(series)
    form = InviteForm(choices=invitations.audience_choices(current_user), series=True)
    if closed is None and form.validate_on_submit():
        invitations.add_audience(actor=current_user, series=series, **form.invite_values())
        db.session.commit()
        flash(_("Each date's invitations will be mailed when it comes near."), "success")
        return redirect(url_for("notifications.invite_series", series_id=series.id), 303)
    return _render_invite(
        form, closed, series=series, audiences=invitations.audiences_of(series=series)
    )


def _render_invite(form: InviteForm, closed: str | None, **context: object) -> ResponseReturnValue:
    """The invite page; a POST to a cancelled or past meeting gets the reason and a 409."""
    status = 409 if closed is not None and request.method == "POST" else 200
    page = render_template("notifications/invite.html", form=form, closed=closed, **context)
    return page, status


# --- helpers for the meeting and series pages --------------------------------------------------


@bp.app_template_global()
def invitation_counts(meeting: Meeting) -> InvitationCounts:
    return invitations.invitation_counts(meeting)


@bp.app_template_global()
def invitation_counts_for(meetings: Iterable[Meeting]) -> dict[int, InvitationCounts]:
    """Invited and delivered per meeting (the series page lists many dates)."""
    return invitations.invitation_counts_for(meetings)


@bp.app_template_global()
def can_invite_to(meeting: Meeting) -> bool:
    """Show the "Invite" link: the viewer manages the meeting and it still lies ahead."""
    return can_manage_meeting(current_user, meeting) and meeting_closed_reason(meeting) is None


@bp.app_template_global()
def can_invite_to_series(series: MeetingSeries) -> bool:
    """Series pages are for their managers already; invitations need a series not ended."""
    return series_closed_reason(series) is None


@bp.app_template_global()
def invitation_audiences(series: MeetingSeries) -> list[InvitationAudience]:
    return invitations.audiences_of(series=series)
