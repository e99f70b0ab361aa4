"""A meeting's agenda (Tagesordnung) and minutes (Protokoll)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.agenda import services
from coordination.agenda.forms import (
    AgendaItemForm,
    MinutesForm,
    MoveForm,
    NewAgendaItemForm,
    outcome_labels,
)
from coordination.extensions import db
from coordination.meetings.models import AgendaItem, AgendaOutcome, Meeting, Minutes
from coordination.meetings.permissions import can_manage_meeting, can_view_meeting

bp = Blueprint("agenda", __name__, url_prefix="/meetings")


# --- template globals for the meeting page's partials ---------------------------------------


@bp.app_template_global("agenda_for")
def agenda_for_template(meeting: Meeting) -> services.Agenda:
    """The agenda of ``meeting`` (one query); the meeting page checks visibility already."""
    return services.agenda_for(meeting)


@bp.app_template_global("minutes_for")
def minutes_for_template(meeting: Meeting, user: Any) -> Minutes | None:
    """The minutes ``user`` may read: published ones, or the draft for managers."""
    return services.minutes_for(meeting, user)


@bp.app_template_global("agenda_outcome_labels")
def agenda_outcome_labels() -> dict[AgendaOutcome, str]:
    return outcome_labels()


@bp.app_template_global("minutes_updated_after_publishing")
def minutes_updated_after_publishing(minutes: Minutes) -> bool:
    return services.was_updated_after_publishing(minutes)


# --- loading and authorising ----------------------------------------------------------------


def _managed_meeting(meeting_id: int) -> Meeting:
    """The meeting, if the current user may manage it: 404 if they can't see it, else 403."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not can_view_meeting(current_user, meeting):
        abort(404)
    if not can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting


def _item_of(meeting: Meeting, item_id: int) -> AgendaItem:
    """An item of this meeting; another meeting's item answers 404 like a missing one."""
    item = db.session.scalar(
        sa.select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting.id)
    )
    if item is None:
        abort(404)
    return item


def _agenda_page(meeting: Meeting, item: AgendaItem | None = None, **args: str) -> str:
    anchor = f"item-{item.id}" if item is not None else None
    return url_for("agenda.edit_agenda", meeting_id=meeting.id, _anchor=anchor, **args)


def _render_agenda(meeting: Meeting, form: NewAgendaItemForm) -> str:
    return render_template(
        "agenda/edit.html",
        meeting=meeting,
        agenda=services.agenda_for(meeting),
        form=form,
        outcomes=outcome_labels(),
        with_outcomes=services.can_record_outcomes(meeting),
    )


# --- agenda ---------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/agenda", methods=["GET"])
@login_required
def edit_agenda(meeting_id: int) -> ResponseReturnValue:
    """The agenda with move, edit and remove buttons, and a form to add an item."""
    meeting = _managed_meeting(meeting_id)
    return _render_agenda(meeting, NewAgendaItemForm())


@bp.route("/<int:meeting_id>/agenda", methods=["POST"])
@login_required
def add_item(meeting_id: int) -> ResponseReturnValue:
    """Append an item to the agenda."""
    meeting = _managed_meeting(meeting_id)
    form = NewAgendaItemForm()
    if not form.validate_on_submit():
        return _render_agenda(meeting, form)
    item = services.add_item(
        meeting,
        title=form.title.data,
        notes=form.notes.data or "",
        duration_minutes=form.duration_minutes.data,
        actor=current_user,
    )
    db.session.commit()
    flash(_("Added “%(title)s” to the agenda.", title=item.title), "success")
    return redirect(_agenda_page(meeting, item), 303)


@bp.route("/<int:meeting_id>/agenda/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(meeting_id: int, item_id: int) -> ResponseReturnValue:
    """Change an item; once the meeting has started, record its outcome too."""
    meeting = _managed_meeting(meeting_id)
    item = _item_of(meeting, item_id)
    with_outcome = services.can_record_outcomes(meeting)
    form = AgendaItemForm(obj=item if request.method == "GET" else None, with_outcome=with_outcome)
    if request.method == "GET" and with_outcome:
        form.outcome.data = item.outcome.value if item.outcome else ""
    if form.validate_on_submit():
        outcome_fields: dict[str, Any] = {}
        if with_outcome:
            outcome_fields = {
                "outcome": AgendaOutcome(form.outcome.data) if form.outcome.data else None,
                "outcome_note": form.outcome_note.data or "",
            }
        try:
            services.update_item(
                item,
                title=form.title.data,
                notes=form.notes.data or "",
                duration_minutes=form.duration_minutes.data,
                actor=current_user,
                **outcome_fields,
            )
        except services.ItemGone:
            abort(404)  # removed by someone else meanwhile
        db.session.commit()
        flash(_("Saved “%(title)s”.", title=item.title), "success")
        return redirect(_agenda_page(meeting, item), 303)
    return render_template(
        "agenda/item_form.html", meeting=meeting, item=item, form=form, with_outcome=with_outcome
    )


@bp.route("/<int:meeting_id>/agenda/<int:item_id>/move", methods=["POST"])
@login_required
def move_item(meeting_id: int, item_id: int) -> ResponseReturnValue:
    """Move an item one place up or down (``direction=up|down``)."""
    meeting = _managed_meeting(meeting_id)
    item = _item_of(meeting, item_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_item(
        item,
        direction=form.direction.data,
        expected_position=form.position.data,
        actor=current_user,
    )
    db.session.commit()
    # A repeated click (stale position) changes nothing and needs no message either.
    return redirect(_agenda_page(meeting, item, moved=form.direction.data), 303)


@bp.route("/<int:meeting_id>/agenda/<int:item_id>/delete", methods=["POST"])
@login_required
def delete_item(meeting_id: int, item_id: int) -> ResponseReturnValue:
    """Remove an item; the items after it move up."""
    meeting = _managed_meeting(meeting_id)
    item = _item_of(meeting, item_id)
    title = item.title
    try:
        services.remove_item(item, actor=current_user)
    except services.ItemGone:
        abort(404)  # removed by a repeated click or by someone else meanwhile
    db.session.commit()
    flash(_("Removed “%(title)s” from the agenda.", title=title), "success")
    return redirect(_agenda_page(meeting), 303)


# --- minutes --------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/minutes", methods=["GET", "POST"])
@login_required
def edit_minutes(meeting_id: int) -> ResponseReturnValue:
    """Write the minutes: save a draft, publish, or save changes to published minutes."""
    meeting = _managed_meeting(meeting_id)
    minutes = services.get_minutes(meeting)
    form = MinutesForm()
    if request.method == "GET":
        form.body.data = minutes.body if minutes else services.draft_outline(meeting)
    if form.validate_on_submit():
        publish = bool(form.publish.data)
        was_published = minutes is not None and minutes.is_published
        minutes = services.save_minutes(
            meeting, body=form.body.data, actor=current_user, publish=publish
        )
        db.session.commit()
        if was_published:
            flash(_("The published minutes were updated."), "success")
        elif publish:
            flash(_("The minutes are published."), "success")
        else:
            flash(_("The draft is saved. Only those who manage the meeting can see it."), "success")
        if minutes.is_published:
            return redirect(
                url_for("meetings.detail", meeting_id=meeting.id, _anchor="minutes"), 303
            )
        return redirect(url_for("agenda.edit_minutes", meeting_id=meeting.id), 303)
    return render_template("agenda/minutes.html", meeting=meeting, minutes=minutes, form=form)


@bp.route("/<int:meeting_id>/minutes/unpublish", methods=["POST"])
@login_required
def unpublish_minutes(meeting_id: int) -> ResponseReturnValue:
    """Take published minutes back to a draft."""
    meeting = _managed_meeting(meeting_id)
    minutes = services.get_minutes(meeting)
    if minutes is None:
        abort(404)
    if services.unpublish_minutes(minutes, actor=current_user):
        db.session.commit()
        flash(_("The minutes are a draft again and hidden from readers."), "success")
    return redirect(url_for("agenda.edit_minutes", meeting_id=meeting.id), 303)
