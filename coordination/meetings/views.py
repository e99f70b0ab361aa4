"""Meetings: lists, detail pages, scheduling, series, agenda and minutes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, format_time, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.agenda import services as agenda_services
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.meetings import services
from coordination.meetings.forms import (
    EndSeriesForm,
    MeetingForm,
    SeriesForm,
    describe_rule,
    kind_labels,
    visibility_labels,
)
from coordination.meetings.models import Meeting, MeetingKind, MeetingSeries, Visibility
from coordination.meetings.permissions import (
    can_create_meetings,
    can_manage_meeting,
    can_view_meeting,
    visible_meetings_clause,
)
from coordination.notifications import invitations
from coordination.pagination import paginate
from coordination.timeutil import local_today, utc_to_local

bp = Blueprint("meetings", __name__, url_prefix="/meetings")

PER_PAGE = 25


# --- helpers shared with the templates ---------------------------------------------------------


@bp.app_template_global()
def meeting_when(meeting: Meeting) -> str:
    """The meeting's date and time in the network's zone; dates only for all-day meetings."""
    start = utc_to_local(meeting.starts_at)
    end = utc_to_local(meeting.ends_at)
    if meeting.is_all_day:
        last_day = (end - timedelta(days=1)).date()
        if last_day <= start.date():
            return format_date(start.date(), "full")
        return _(
            "%(first)s to %(last)s",
            first=format_date(start.date(), "full"),
            last=format_date(last_day, "full"),
        )
    if start.date() == end.date():
        return _(
            "%(date)s, %(start)s – %(end)s",
            date=format_date(start.date(), "full"),
            start=format_time(start, "short"),
            end=format_time(end, "short"),
        )
    return _(
        "%(start)s to %(end)s",
        start=format_datetime(start, "medium"),
        end=format_datetime(end, "medium"),
    )


@bp.app_template_global()
def local_moment(value: datetime) -> str:
    """A point in time in the network's zone without seconds, e.g. "7 Dec 2026, 17:00"."""
    local = utc_to_local(value)
    return _(
        "%(date)s, %(time)s",
        date=format_date(local.date(), "medium"),
        time=format_time(local, "short"),
    )


@bp.app_template_global()
def meeting_iso_start(meeting: Meeting) -> str:
    """For ``<time datetime>``: the local date of all-day meetings, else the exact instant."""
    if meeting.is_all_day:
        return utc_to_local(meeting.starts_at).date().isoformat()
    return meeting.starts_at.isoformat()


@bp.app_template_global()
def format_day(day: date) -> str:
    """A calendar date in the user's language, e.g. "Tuesday, 3 March 2026"."""
    return format_date(day, "full")


@bp.app_template_global()
def meeting_kind_label(kind: MeetingKind) -> str:
    return kind_labels()[kind]


def _series_audience(series: MeetingSeries) -> Any:
    """Something the meeting predicates can judge in place of a series' meetings."""
    return SimpleNamespace(
        visibility=series.visibility,
        group=series.group,
        kind=series.kind,
        online_url=series.online_url,
        is_online_url_public=series.is_online_url_public,
    )


@bp.app_template_global()
def can_manage_series(user: Any, series: MeetingSeries) -> bool:
    """Whoever may manage the series' meetings may manage the series."""
    return can_manage_meeting(user, _series_audience(series))


# --- loading with permission checks ------------------------------------------------------------


def _visible_meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not can_view_meeting(current_user, meeting):
        abort(404)
    return meeting


def _managed_meeting(meeting_id: int) -> Meeting:
    meeting = _visible_meeting(meeting_id)
    if not can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting


def _managed_series(series_id: int) -> MeetingSeries:
    series = db.session.get(MeetingSeries, series_id)
    if series is None or not can_view_meeting(current_user, _series_audience(series)):
        abort(404)
    if not can_manage_series(current_user, series):
        abort(403)
    return series


def _schedule_options() -> dict[str, Any]:
    return {
        "groups": services.schedulable_groups(current_user),
        "kinds": services.schedulable_kinds(current_user),
    }


# --- lists and pages ---------------------------------------------------------------------------


@bp.route("/")
def index() -> ResponseReturnValue:
    """Upcoming (or past) meetings the viewer may see, filterable by kind and group."""
    past = request.args.get("when") == "past"
    kind_value = request.args.get("kind", "")
    kind = MeetingKind(kind_value) if kind_value in set(MeetingKind) else None
    filter_groups = services.readable_groups(current_user)
    readable_ids = {group.id for group in filter_groups}
    group_id = request.args.get("group", type=int)
    if group_id not in readable_ids:
        group_id = None
    page = paginate(
        services.meetings_query(current_user, past=past, kind=kind, group_id=group_id), PER_PAGE
    )
    return render_template(
        "meetings/index.html",
        page=page,
        past=past,
        kind=kind,
        kinds=kind_labels(),
        group_id=group_id,
        filter_groups=filter_groups,
        readable_group_ids=readable_ids,
    )


@bp.route("/<int:meeting_id>")
def detail(meeting_id: int) -> ResponseReturnValue:
    """A meeting's details in local time; the online link only for those who may see it."""
    meeting = _visible_meeting(meeting_id)
    show_group = meeting.group is not None and groups.can_read_group(current_user, meeting.group)
    return render_template(
        "meetings/detail.html",
        meeting=meeting,
        show_group=show_group,
        visibilities=visibility_labels(),
        can_manage=can_manage_meeting(current_user, meeting),
    )


# --- scheduling single meetings ----------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> ResponseReturnValue:
    """Schedule a meeting (moderators, admins, and group leads for their groups)."""
    if not can_create_meetings(current_user):
        abort(403)
    options = _schedule_options()
    initial: dict[str, Any] = {}
    wanted_group = request.args.get("group", type=int)
    if request.method == "GET" and wanted_group in {group.id for group in options["groups"]}:
        initial = {"group_id": str(wanted_group), "kind": MeetingKind.GROUP.value}
    form = MeetingForm(
        data=initial or None, audience=invitations.audience_choices(current_user), **options
    )
    if form.validate_on_submit():
        fields = form.meeting_fields()
        duplicate = services.recent_duplicate(Meeting, current_user, **fields)
        if duplicate is not None:
            flash(_("This meeting was scheduled a moment ago; it was not created twice."), "info")
            return redirect(url_for("meetings.detail", meeting_id=duplicate.id), 303)
        meeting = services.create_meeting(actor=current_user, **fields)
        invited = invitations.add_audience(
            actor=current_user, meeting=meeting, **form.invite_values()
        )
        db.session.commit()
        flash(_("Meeting %(title)s scheduled.", title=meeting.title), "success")
        if invited is not None:
            flash(_("Invitations will be mailed within a few minutes."), "success")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    return render_template("meetings/form.html", form=form, meeting=None)


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int) -> ResponseReturnValue:
    """Change a meeting; for an occurrence, optionally all following ones of its series too."""
    meeting = _managed_meeting(meeting_id)
    if meeting.is_cancelled:
        flash(_("This meeting was cancelled and can no longer be changed."), "warning")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    options = _schedule_options()
    form = MeetingForm(
        data=MeetingForm.initial_data(meeting) if request.method == "GET" else None,
        occurrence=meeting.series_id is not None,
        **options,
    )
    if form.validate_on_submit() and _may_become_public(form, meeting):
        if form.applies_to_following:
            if _following_allowed(form, meeting):
                services.update_following(meeting, actor=current_user, **form.meeting_fields())
                db.session.commit()
                flash(_("This and all following meetings of the series saved."), "success")
                return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
        else:
            services.update_meeting(meeting, actor=current_user, **form.meeting_fields())
            db.session.commit()
            flash(_("Meeting %(title)s saved.", title=meeting.title), "success")
            return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    return render_template("meetings/form.html", form=form, meeting=meeting)


def _may_become_public(form: MeetingForm, meeting: Meeting) -> bool:
    """A meeting whose agenda carries a group's problems or actions stays non-public."""
    if form.visibility.data != Visibility.PUBLIC.value or meeting.visibility is Visibility.PUBLIC:
        return True
    affected = services.following_occurrences(meeting) if form.applies_to_following else [meeting]
    if agenda_services.holds_group_content(affected):
        form.visibility.errors.append(
            _(
                "The agenda holds problems or actions of the working group, which visitors may "
                "not read; the meeting cannot become public."
            )
        )
        return False
    return True


def _following_allowed(form: MeetingForm, meeting: Meeting) -> bool:
    """Series-wide changes need a timed meeting that lies ahead."""
    now = utcnow()
    if form.is_all_day.data:
        form.is_all_day.errors.append(
            _("Series meetings have times; make only this meeting an all-day one.")
        )
        return False
    if meeting.has_started(now):
        form.scope.errors.append(
            _("This meeting has started; change the following meetings from a later one.")
        )
        return False
    if form.starts_at is None or form.starts_at <= now:
        form.start_date.errors.append(_("Changes to the following meetings must lie ahead."))
        return False
    return True


@bp.route("/<int:meeting_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(meeting_id: int) -> ResponseReturnValue:
    """Ask, then cancel a meeting for good. It stays visible, marked as cancelled."""
    meeting = _managed_meeting(meeting_id)
    if meeting.is_cancelled:
        flash(_("This meeting is cancelled already."), "info")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    if request.method == "POST":
        services.cancel_meeting(meeting, actor=current_user)
        db.session.commit()
        flash(_("Meeting %(title)s cancelled.", title=meeting.title), "success")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    return render_template("meetings/cancel.html", meeting=meeting)


# --- series ------------------------------------------------------------------------------------


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def create_series() -> ResponseReturnValue:
    """Create a series of meetings; its occurrences are generated 12 months ahead."""
    if not can_create_meetings(current_user):
        abort(403)
    form = SeriesForm(audience=invitations.audience_choices(current_user), **_schedule_options())
    if form.validate_on_submit():
        fields = form.series_fields()
        rule = services.Rule(
            frequency=fields["frequency"],
            interval=fields["interval"],
            weekday=fields["weekday"],
            week_of_month=fields["week_of_month"],
            day_of_month=fields["day_of_month"],
            start_date=fields["start_date"],
            until_date=fields["until_date"],
        )
        if fields["until_date"] is not None and not rule.dates(
            fields["start_date"], fields["until_date"]
        ):
            form.until_date.errors.append(_("No meeting falls between the first and last date."))
        elif duplicate := services.recent_duplicate(MeetingSeries, current_user, **fields):
            flash(_("This series was created a moment ago; it was not created twice."), "info")
            return redirect(url_for("meetings.series_detail", series_id=duplicate.id), 303)
        else:
            series = services.create_series(actor=current_user, **fields)
            invited = invitations.add_audience(
                actor=current_user, series=series, **form.invite_values()
            )
            count = db.session.scalar(
                sa.select(sa.func.count(Meeting.id)).where(Meeting.series_id == series.id)
            )
            db.session.commit()
            flash(
                ngettext(
                    "Series created with %(num)d meeting.",
                    "Series created with %(num)d meetings.",
                    count or 0,
                ),
                "success",
            )
            if invited is not None:
                flash(_("Each date's invitations will be mailed when it comes near."), "success")
            return redirect(url_for("meetings.series_detail", series_id=series.id), 303)
    return render_template("meetings/series_form.html", form=form)


@bp.route("/series/<int:series_id>")
@login_required
def series_detail(series_id: int) -> ResponseReturnValue:
    """A series' rule and its meetings, with the form to end it."""
    series = _managed_series(series_id)
    form = EndSeriesForm()
    return _render_series(series, form)


def _render_series(series: MeetingSeries, form: EndSeriesForm) -> ResponseReturnValue:
    occurrences = list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.series_id == series.id, visible_meetings_clause(current_user))
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )
    now = utcnow()
    return render_template(
        "meetings/series_detail.html",
        series=series,
        rule=describe_rule(series),
        start_time=format_time(series.start_time, "short"),
        upcoming=[meeting for meeting in occurrences if meeting.ends_at > now],
        past=[meeting for meeting in occurrences if meeting.ends_at <= now],
        form=form,
        visibilities=visibility_labels(),
        can_end=series.until_date is None or series.until_date >= local_today(),
    )


@bp.route("/series/<int:series_id>/end", methods=["POST"])
@login_required
def end_series(series_id: int) -> ResponseReturnValue:
    """End a series: occurrences after the date are cancelled, earlier ones stay."""
    series = _managed_series(series_id)
    form = EndSeriesForm()
    if form.validate_on_submit():
        until = form.until_date.data
        if until < series.start_date:
            form.until_date.errors.append(_("The series starts later than this date."))
        elif series.until_date is not None and until > series.until_date:
            form.until_date.errors.append(_("A series can only be ended earlier, not extended."))
        else:
            cancelled = services.end_series(series, until_date=until, actor=current_user)
            db.session.commit()
            flash(
                ngettext(
                    "Series ended; %(num)d meeting cancelled.",
                    "Series ended; %(num)d meetings cancelled.",
                    len(cancelled),
                ),
                "success",
            )
            return redirect(url_for("meetings.series_detail", series_id=series.id), 303)
    return _render_series(series, form), 200
