"""A meeting's agenda (Tagesordnung) and minutes (Protokoll)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from coordination import MAX_ID
from coordination.actions import services as actions
from coordination.actions.forms import OutcomeActionForm
from coordination.agenda import services
from coordination.agenda.forms import (
    AgendaItemForm,
    MinutesForm,
    MoveForm,
    NewAgendaItemForm,
    ProposalForm,
    PullInForm,
    outcome_labels,
)
from coordination.auth.models import User
from coordination.extensions import db
from coordination.groups.models import WorkingGroup
from coordination.groups.permissions import can_view_group
from coordination.meetings.models import AgendaItem, AgendaOutcome, Meeting, Minutes
from coordination.meetings.permissions import can_manage_meeting, can_view_meeting
from coordination.projects import services as projects

bp = Blueprint("agenda", __name__, url_prefix="/meetings")

_ID = re.compile(r"^[0-9]{1,10}$")


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


def _project_id(form: AgendaItemForm) -> int | None:
    """The project the item form names (its choices hold existing projects only)."""
    value = form.project_id.data if form.project_id is not None else None
    return int(value) if value and _ID.match(value) and int(value) <= MAX_ID else None


def _agenda_page(meeting: Meeting, item: AgendaItem | None = None, **args: str) -> str:
    anchor = f"item-{item.id}" if item is not None else None
    return url_for("agenda.edit_agenda", meeting_id=meeting.id, _anchor=anchor, **args)


def _readable_group_of(meeting: Meeting) -> WorkingGroup | None:
    """The meeting's working group if it is a group meeting the current user may read."""
    if not services.is_group_meeting(meeting) or meeting.group is None:
        return None
    return meeting.group if can_view_group(current_user, meeting.group) else None


def _group_tools(meeting: Meeting, items: list[AgendaItem]) -> dict[str, Any] | None:
    """Pull-in buttons and proposals from the previous meeting, for group meetings."""
    group = _readable_group_of(meeting)
    if group is None:
        return None
    allowed = services.offers_group_content(meeting)
    return {
        "group": group,
        "allowed": allowed,
        "proposals": services.proposals_for(meeting, items) if allowed else None,
    }


def _render_agenda(meeting: Meeting, form: NewAgendaItemForm) -> str:
    agenda = services.agenda_for(meeting)
    return render_template(
        "agenda/edit.html",
        meeting=meeting,
        agenda=agenda,
        form=form,
        outcomes=outcome_labels(),
        with_outcomes=services.can_record_outcomes(meeting),
        group_tools=_group_tools(meeting, [entry.item for entry in agenda.entries]),
    )


# --- agenda ---------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/agenda", methods=["GET"])
@login_required
def edit_agenda(meeting_id: int) -> ResponseReturnValue:
    """The agenda with move, edit and remove buttons, and a form to add an item."""
    meeting = _managed_meeting(meeting_id)
    return _render_agenda(meeting, NewAgendaItemForm(project_choices=projects.project_choices()))


@bp.route("/<int:meeting_id>/agenda", methods=["POST"])
@login_required
def add_item(meeting_id: int) -> ResponseReturnValue:
    """Append an item to the agenda."""
    meeting = _managed_meeting(meeting_id)
    form = NewAgendaItemForm(project_choices=projects.project_choices())
    if not form.validate_on_submit():
        return _render_agenda(meeting, form)
    item = services.add_item(
        meeting,
        title=form.title.data,
        notes=form.notes.data or "",
        duration_minutes=form.duration_minutes.data,
        project_id=_project_id(form),
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
    form = AgendaItemForm(
        obj=item if request.method == "GET" else None,
        with_outcome=with_outcome,
        project_choices=projects.project_choices(),
    )
    if request.method == "GET" and with_outcome:
        form.outcome.data = item.outcome.value if item.outcome else ""
    if form.validate_on_submit():
        outcome_fields: dict[str, Any] = {}
        if form.project_id is not None:
            outcome_fields["project_id"] = _project_id(form)
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
    return _render_item_page(meeting, item, form, with_outcome=with_outcome)


def _action_form(
    meeting: Meeting, item: AgendaItem, formdata: Any = None
) -> OutcomeActionForm | None:
    """The "action agreed" form of an item, for group meetings that have started."""
    group = _readable_group_of(meeting)
    if group is None or not services.can_record_outcomes(meeting):
        return None
    form = OutcomeActionForm(formdata=formdata, prefix="action")
    members = actions.member_choices(group)
    if any(user_id == current_user.id for user_id, _name in members):
        form.set_owner_choices(members)
        if formdata is None:
            form.owner.data = str(current_user.id)
    else:
        form.set_owner_choices([("", _("Choose a member")), *members])
    return form


def _render_item_page(
    meeting: Meeting,
    item: AgendaItem,
    form: AgendaItemForm,
    *,
    with_outcome: bool,
    action_form: OutcomeActionForm | None = None,
) -> ResponseReturnValue:
    if action_form is None:
        action_form = _action_form(meeting, item)
    group = _readable_group_of(meeting)
    return render_template(
        "agenda/item_form.html",
        meeting=meeting,
        item=item,
        form=form,
        with_outcome=with_outcome,
        action_form=action_form,
        agreed_actions=actions.actions_for_agenda_item(item) if group is not None else [],
        item_group=group,
        today=actions.today(),
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


# --- working-group meetings: problems, actions, the previous meeting ---------------------------


def _group_meeting_for_content(meeting_id: int) -> Meeting:
    """A managed group meeting whose agenda may take the group's content (404/403 otherwise)."""
    meeting = _managed_meeting(meeting_id)
    if _readable_group_of(meeting) is None:
        abort(404)
    if not services.offers_group_content(meeting):
        abort(403)  # a public agenda: visitors would read the group's problems and actions
    return meeting


@bp.route("/<int:meeting_id>/agenda/pull-in", methods=["POST"])
@login_required
def pull_in(meeting_id: int) -> ResponseReturnValue:
    """Append the group's open problems (``what=problems``) or open actions (``what=actions``)."""
    meeting = _group_meeting_for_content(meeting_id)
    form = PullInForm()
    if not form.validate_on_submit():
        abort(400)
    if form.what.data == "problems":
        added = services.pull_in_problems(meeting, actor=current_user)
        message = ngettext(
            "Added %(num)d open problem to the agenda.",
            "Added %(num)d open problems to the agenda.",
            len(added),
        )
        nothing = _("All open problems of the group are on the agenda already.")
    else:
        added = services.pull_in_actions(meeting, actor=current_user, today=actions.today())
        message = ngettext(
            "Added %(num)d open action to the agenda.",
            "Added %(num)d open actions to the agenda.",
            len(added),
        )
        nothing = _("All open actions of the group are on the agenda already.")
    db.session.commit()
    if added:
        flash(message, "success")
    else:
        flash(nothing, "info")
    return redirect(_agenda_page(meeting, added[0] if added else None), 303)


@bp.route("/<int:meeting_id>/agenda/propose", methods=["POST"])
@login_required
def add_proposal(meeting_id: int) -> ResponseReturnValue:
    """Add one thing the previous meeting left open (``kind=item|problem|action``, ``ref=<id>``)."""
    meeting = _group_meeting_for_content(meeting_id)
    form = ProposalForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        item = services.add_proposal(
            meeting,
            form.kind.data,
            int(form.ref.data),
            actor=current_user,
            today=actions.today(),
        )
    except services.NoSuchProposal:
        abort(404)
    db.session.commit()
    if item is not None:
        flash(_("Added “%(title)s” to the agenda.", title=item.title), "success")
    if item is None:  # on the agenda already (a repeated click)
        return redirect(
            url_for("agenda.edit_agenda", meeting_id=meeting.id, _anchor="proposals"), 303
        )
    return redirect(_agenda_page(meeting, item), 303)


@bp.route("/<int:meeting_id>/agenda/<int:item_id>/action", methods=["POST"])
@login_required
def agree_action(meeting_id: int, item_id: int) -> ResponseReturnValue:
    """Record an action agreed under an agenda item of a group meeting that has started."""
    meeting = _managed_meeting(meeting_id)
    item = _item_of(meeting, item_id)
    if _readable_group_of(meeting) is None:
        abort(404)
    if not services.can_record_outcomes(meeting):
        abort(409)
    action_form = _action_form(meeting, item, formdata=request.form)
    if action_form is None:  # pragma: no cover - checked above
        abort(404)
    if action_form.validate_on_submit():
        owner = _user(action_form.owner.data)
        try:
            if owner is None:
                raise actions.OwnerNotMember(action_form.owner.data)
            action = services.record_agreed_action(
                item,
                title=action_form.title.data,
                owner=owner,
                due_date=action_form.due_date.data,
                actor=current_user,
            )
        except actions.OwnerNotMember:
            action_form.owner.errors = [_("The owner must be a member of the group.")]
        else:
            db.session.commit()
            flash(_("Action “%(title)s” recorded.", title=action.title), "success")
            return redirect(
                url_for(
                    "agenda.edit_item",
                    meeting_id=meeting.id,
                    item_id=item.id,
                    _anchor="agreed-actions",
                ),
                303,
            )
    item_form = AgendaItemForm(
        formdata=None, obj=item, with_outcome=True, project_choices=projects.project_choices()
    )
    item_form.outcome.data = item.outcome.value if item.outcome else ""
    return _render_item_page(meeting, item, item_form, with_outcome=True, action_form=action_form)


def _user(value: str | None) -> User | None:
    """The account a form's owner field names, or ``None`` for anything that is not an id."""
    if not value or not _ID.match(value) or int(value) > MAX_ID:
        return None
    return db.session.get(User, int(value))


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
