"""Forms for actions (Maßnahmen): create, edit, change status, agree one at a meeting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from coordination.actions.models import ActionStatus
from coordination.forms import BaseForm, as_choices, strip_filter

#: Due dates outside these years are typing mistakes (and odd for both databases).
EARLIEST_DUE = date(2000, 1, 1)
LATEST_DUE = date(2100, 12, 31)

NOTES_MAX_LENGTH = 20_000


def status_labels() -> dict[ActionStatus, str]:
    return {
        ActionStatus.OPEN: str(_l("Open")),
        ActionStatus.DONE: str(_l("Done")),
        ActionStatus.DROPPED: str(_l("Dropped")),
    }


def _plausible_date(form: BaseForm, field: DateField) -> None:
    if field.data is not None and not EARLIEST_DUE <= field.data <= LATEST_DUE:
        raise ValidationError(_l("Enter a date between 2000 and 2100."))


def _owner_field() -> SelectField:
    return SelectField(
        _l("Owner"),
        choices=[],
        validators=[DataRequired(message=_l("Choose who takes the action."))],
        description=_l("A member of the working group."),
    )


def _due_date_field() -> DateField:
    return DateField(
        _l("Due date"),
        validators=[Optional(), _plausible_date],
        description=_l("Optional. Open actions past this date are shown as overdue."),
    )


class ActionForm(BaseForm):
    """Title, notes, owner and due date; the owner is one of the group's members."""

    title = StringField(
        _l("What is to be done?"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=200)],
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=NOTES_MAX_LENGTH)],
        description=_l("Background and the agreed next steps. Markdown is allowed."),
        render_kw={"rows": 5},
    )
    owner = _owner_field()
    due_date = _due_date_field()
    submit = SubmitField(_l("Save"))

    def set_owner_choices(self, members: Iterable[tuple[int, str]]) -> None:
        self.owner.choices = as_choices(members)


class NewActionForm(ActionForm):
    """A new action, optionally for one of the group's problems and one of its solutions."""

    issue = SelectField(_l("Problem"), choices=[], validators=[Optional()])
    solution = SelectField(_l("Proposed solution"), choices=[], validators=[Optional()])
    submit = SubmitField(_l("Create action"))

    def __init__(self, *args: object, with_solution: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not with_solution:
            del self.solution

    def set_issue_choices(self, issues: Iterable[tuple[int, str]]) -> None:
        self.issue.choices = as_choices([("", _l("No problem (a task of the group)")), *issues])

    def set_solution_choices(self, solutions: Iterable[tuple[int, str]]) -> None:
        if hasattr(self, "solution"):
            self.solution.choices = as_choices([("", _l("None")), *solutions])


class EditActionForm(ActionForm):
    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = as_choices(
            (status.value, label) for status, label in status_labels().items()
        )


class StatusForm(BaseForm):
    """A one-click status button; ``next`` brings the user back to the list they were on."""

    status = HiddenField(validators=[DataRequired(), AnyOf([s.value for s in ActionStatus])])
    next = HiddenField(validators=[Optional(), Length(max=500)])


class OutcomeActionForm(BaseForm):
    """The small form beside an agenda item's outcome: an action agreed at the meeting.

    Used with ``prefix="action"``: the item form on the same page has its own ``title``.
    """

    title = StringField(
        _l("Agreed action"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=200)],
    )
    owner = _owner_field()
    due_date = _due_date_field()
    submit = SubmitField(_l("Record action"))

    def set_owner_choices(self, members: Iterable[tuple[int, str]]) -> None:
        self.owner.choices = as_choices(members)
