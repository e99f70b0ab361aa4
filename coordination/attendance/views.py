"""Check-in during the meeting, attendance exports, the sign-in sheet and statistics."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from coordination.attendance import charts, services
from coordination.attendance.forms import (
    StatusForm,
    WalkInGuestForm,
    WalkInUserForm,
    status_labels,
)
from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Role, User
from coordination.auth.permissions import role_required
from coordination.extensions import db
from coordination.meetings.models import Meeting, MeetingKind
from coordination.meetings.permissions import can_manage_meeting, can_view_meeting
from coordination.organizations.services import organization_choices
from coordination.timeutil import local_today

bp = Blueprint("attendance", __name__, url_prefix="/meetings")

#: Empty rows at the end of the sign-in sheet, for walk-ins.
BLANK_SIGN_IN_ROWS = 10
MAX_QUERY_LENGTH = 200


def _managed_meeting(meeting_id: int) -> Meeting:
    """The meeting, if the current user may manage it: 404 if they cannot see it, else 403."""
    meeting = db.get_or_404(Meeting, meeting_id)
    if not can_view_meeting(current_user, meeting):
        abort(404)
    if not can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting


def _meeting_url(meeting: Meeting) -> str | None:
    """The meeting's page, if the meetings feature provides one."""
    try:
        return url_for("meetings.detail", meeting_id=meeting.id)
    except BuildError:
        return None


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _search_query(value: str | None) -> str:
    return (value or "").strip()[:MAX_QUERY_LENGTH]


def _checkin_url(meeting: Meeting, query: str = "", anchor: str | None = None) -> str:
    values: dict[str, Any] = {"meeting_id": meeting.id}
    if query:
        values["q"] = query
    return url_for("attendance.checkin", _anchor=anchor, **values)


def _walk_in_forms(
    user_form: WalkInUserForm | None = None, guest_form: WalkInGuestForm | None = None
) -> tuple[WalkInUserForm, WalkInGuestForm]:
    user_form = user_form or WalkInUserForm(prefix="member", formdata=None)
    guest_form = guest_form or WalkInGuestForm(prefix="guest", formdata=None)
    organizations = organization_choices()
    user_form.set_organization_choices(organizations)
    guest_form.set_organization_choices(organizations)
    return user_form, guest_form


def _render_checkin(
    meeting: Meeting,
    query: str,
    user_form: WalkInUserForm | None = None,
    guest_form: WalkInGuestForm | None = None,
) -> ResponseReturnValue:
    user_form, guest_form = _walk_in_forms(user_form, guest_form)
    user_form.set_user_choices(services.walk_in_candidates(meeting))
    return render_template(
        "attendance/checkin.html",
        meeting=meeting,
        meeting_url=_meeting_url(meeting),
        rows=services.checkin_rows(meeting, query),
        counts=services.attendance_counts(meeting),
        query=query,
        statuses=status_labels(),
        user_form=user_form,
        guest_form=guest_form,
    )


@bp.route("/<int:meeting_id>/checkin")
@login_required
def checkin(meeting_id: int) -> ResponseReturnValue:
    """The check-in list for the meeting (works on a phone, with and without JavaScript)."""
    meeting = _managed_meeting(meeting_id)
    return _render_checkin(meeting, _search_query(request.args.get("q")))


def _status_form_or_400() -> StatusForm:
    form = StatusForm()
    if not form.validate():
        if _wants_json():
            response = jsonify(status="error", fields=sorted(form.errors))
            response.status_code = 400
            abort(response)
        abort(400)
    return form


def _status_saved(
    meeting: Meeting, attendance: Attendance, row_key: str, name: str, form: StatusForm
) -> ResponseReturnValue:
    status = attendance.status
    if _wants_json():
        return jsonify(status=status.value, row=row_key, counts=services.attendance_counts(meeting))
    flash(
        _("%(name)s: %(status)s", name=name, status=status_labels()[status]),
        "success",
    )
    return redirect(_checkin_url(meeting, _search_query(form.q.data), row_key), 303)


@bp.route("/<int:meeting_id>/checkin/registration/<int:registration_id>", methods=["POST"])
@login_required
def registration_status(meeting_id: int, registration_id: int) -> ResponseReturnValue:
    """Mark a registered person present, excused or absent."""
    meeting = _managed_meeting(meeting_id)
    registration = services.registered_registration(meeting, registration_id)
    if registration is None:
        abort(404)
    form = _status_form_or_400()
    attendance = services.set_registration_status(
        registration, AttendanceStatus(form.status.data), actor=current_user
    )
    db.session.commit()
    return _status_saved(
        meeting, attendance, f"r-{registration.id}", registration.display_name, form
    )


@bp.route("/<int:meeting_id>/checkin/attendance/<int:attendance_id>", methods=["POST"])
@login_required
def attendance_status(meeting_id: int, attendance_id: int) -> ResponseReturnValue:
    """Change the status of someone already on the list (usually a walk-in)."""
    meeting = _managed_meeting(meeting_id)
    attendance = services.meeting_attendance(meeting, attendance_id)
    if attendance is None:
        abort(404)
    form = _status_form_or_400()
    services.set_attendance_status(
        attendance, AttendanceStatus(form.status.data), actor=current_user
    )
    db.session.commit()
    registration = attendance.registration
    if registration is not None and registration.status in services.REGISTERED_STATUSES:
        row_key = f"r-{registration.id}"
    else:
        row_key = f"a-{attendance.id}"
    return _status_saved(meeting, attendance, row_key, attendance.display_name, form)


@bp.route("/<int:meeting_id>/checkin/walk-in", methods=["POST"])
@login_required
def walk_in(meeting_id: int) -> ResponseReturnValue:
    """Add someone who came without registering: an account holder or a guest."""
    meeting = _managed_meeting(meeting_id)
    if request.form.get("type") == "guest":
        guest_form = WalkInGuestForm(prefix="guest")
        _walk_in_forms(guest_form=guest_form)
        if guest_form.validate():
            organization_id, organization_name = guest_form.organization()
            try:
                attendance = services.add_walk_in_guest(
                    meeting,
                    name=guest_form.name.data,
                    organization_id=organization_id,
                    organization_name=organization_name,
                    actor=current_user,
                )
            except services.AlreadyOnList:
                db.session.rollback()
                flash(_("%(name)s is already on the list.", name=guest_form.name.data), "warning")
                return redirect(_checkin_url(meeting), 303)
            db.session.commit()
            flash(_("%(name)s added and marked present.", name=attendance.guest_name), "success")
            return redirect(_checkin_url(meeting, anchor=f"a-{attendance.id}"), 303)
        return _render_checkin(meeting, "", guest_form=guest_form)

    user_form = WalkInUserForm(prefix="member")
    _walk_in_forms(user_form=user_form)
    if user_form.validate():
        user = db.session.get(User, user_form.chosen_user_id)
        if user is None or not user.is_active:
            user_form.user_id.errors = [_("Choose a person from the list.")]
        else:
            organization_id, organization_name = user_form.organization()
            try:
                attendance = services.add_walk_in_user(
                    meeting,
                    user,
                    organization_id=organization_id,
                    organization_name=organization_name,
                    actor=current_user,
                )
            except services.AlreadyOnList:
                db.session.rollback()
                flash(_("%(name)s is already on the list.", name=user.name), "warning")
                return redirect(_checkin_url(meeting), 303)
            db.session.commit()
            flash(_("%(name)s added and marked present.", name=user.name), "success")
            return redirect(_checkin_url(meeting, anchor=f"a-{attendance.id}"), 303)
    return _render_checkin(meeting, "", user_form=user_form)


@bp.route("/<int:meeting_id>/attendance.csv")
@login_required
def attendance_csv(meeting_id: int) -> ResponseReturnValue:
    """Who attended, for Excel: name, organisation, status, check-in time, registered."""
    meeting = _managed_meeting(meeting_id)
    labels = status_labels()
    rows: list[list[Any]] = [
        [_("Name"), _("Organisation"), _("Status"), _("Checked in"), _("Registered")]
    ]
    for row in services.checkin_rows(meeting):
        rows.append(
            [
                row.name,
                row.organization,
                labels[row.status] if row.status is not None else "",
                services.local_timestamp(row.checked_in_at),
                _("yes") if row.is_registered else _("no"),
            ]
        )
    day = services.meeting_local_date(meeting).isoformat()
    return services.csv_response(rows, f"attendance-{day}-{meeting.id}.csv")


@bp.route("/<int:meeting_id>/sign-in-sheet")
@login_required
def sign_in_sheet(meeting_id: int) -> ResponseReturnValue:
    """The printable sign-in sheet (Teilnehmerliste) with a signature column."""
    meeting = _managed_meeting(meeting_id)
    rows = sorted(services.checkin_rows(meeting), key=lambda row: row.name.casefold())
    return render_template(
        "attendance/sign_in_sheet.html",
        meeting=meeting,
        meeting_url=_meeting_url(meeting),
        rows=rows,
        blank_rows=BLANK_SIGN_IN_ROWS,
    )


def _kind_labels() -> dict[MeetingKind, str]:
    return {
        MeetingKind.NETWORK: _("Network meeting"),
        MeetingKind.GROUP: _("Working-group meeting"),
        MeetingKind.OTHER: _("Other meeting"),
    }


@bp.route("/statistics")
@role_required(Role.ADMIN, Role.MODERATOR)
def statistics() -> ResponseReturnValue:
    """Attendance per meeting over time and the organisations represented, with downloads."""
    filters = services.StatisticsFilter.from_args(request.args, local_today())
    meetings = services.meeting_statistics(current_user, filters)
    organizations, unnamed = services.organization_statistics(current_user, filters)
    total_present = sum(item.present for item in meetings)
    return render_template(
        "attendance/statistics.html",
        filters=filters,
        period=(format_date(filters.start), format_date(filters.end)),
        kinds=_kind_labels(),
        meetings=meetings,
        organizations=organizations,
        unnamed=unnamed,
        total_present=total_present,
        average=(total_present / len(meetings)) if meetings else 0,
        meetings_chart=charts.meetings_chart(meetings),
        organizations_chart=charts.organizations_chart(organizations),
        max_organization_bars=charts.MAX_ORGANIZATION_BARS,
    )


@bp.route("/statistics.csv")
@role_required(Role.ADMIN, Role.MODERATOR)
def statistics_csv() -> ResponseReturnValue:
    """The statistics' numbers for funder reports: ``type=meetings`` or ``organizations``."""
    filters = services.StatisticsFilter.from_args(request.args, local_today())
    span = f"{filters.start.isoformat()}-{filters.end.isoformat()}"
    if request.args.get("type") == "organizations":
        organizations, unnamed = services.organization_statistics(current_user, filters)
        rows: list[list[Any]] = [[_("Organisation"), _("Meetings"), _("Attendances")]]
        rows += [[item.name, item.meetings, item.attendances] for item in organizations]
        if unnamed:
            rows.append([_("No organisation given"), "", unnamed])
        return services.csv_response(rows, f"organisations-{span}.csv")
    kinds = _kind_labels()
    rows = [
        [
            _("Date"),
            _("Meeting"),
            _("Kind"),
            _("Present"),
            _("Excused"),
            _("Absent"),
            _("Registered"),
        ]
    ]
    for item in services.meeting_statistics(current_user, filters):
        rows.append(
            [
                services.local_timestamp(item.starts_at)[:10],
                item.title,
                kinds[item.kind],
                item.present,
                item.excused,
                item.absent,
                item.registered,
            ]
        )
    return services.csv_response(rows, f"attendance-{span}.csv")
