"""Forms for agenda items, their outcomes and the minutes of a meeting."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, Regexp

from coordination.forms import BaseForm, as_choices, strip_filter
from coordination.meetings.models import AgendaOutcome

#: Longest minutes we accept (characters); a long evening's minutes are about a tenth of this.
MINUTES_MAX_LENGTH = 60_000


def outcome_labels() -> dict[AgendaOutcome, str]:
    return {
        AgendaOutcome.INFORMATION: str(_l("Information")),
        AgendaOutcome.DECISION: str(_l("Decision")),
        AgendaOutcome.ACTION: str(_l("Action agreed")),
    }


class AgendaItemForm(BaseForm):
    """Title, notes and planned duration; the outcome fields only once the meeting started."""

    title = StringField(
        _l("Title"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=20000)],
        description=_l("Background, questions, who presents. Markdown is allowed."),
        render_kw={"rows": 4},
    )
    duration_minutes = IntegerField(
        _l("Duration in minutes"),
        validators=[
            Optional(),
            NumberRange(min=1, max=1440, message=_l("Enter between 1 and 1440 minutes.")),
        ],
        render_kw={"min": 1, "max": 1440, "inputmode": "numeric"},
    )
    project_id = SelectField(
        _l("Project"),
        choices=[],
        validators=[Optional()],
        description=_l("Optional: the shared project this item is about."),
    )
    outcome = SelectField(_l("Outcome"), choices=[], validators=[Optional()])
    outcome_note = TextAreaField(
        _l("Outcome note"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What was reported or decided; for an action: what, who, by when."),
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: object,
        with_outcome: bool = False,
        project_choices: Iterable[tuple[int, str]] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        project_choices = list(project_choices)
        if project_choices:
            self.project_id.choices = as_choices([("", _l("No project")), *project_choices])
        else:
            del self.project_id
        if with_outcome:
            self.outcome.choices = as_choices(
                [("", _l("Not recorded yet"))]
                + [(outcome.value, label) for outcome, label in outcome_labels().items()]
            )
        else:
            # Before the meeting there is nothing to record: the fields are not offered at all.
            del self.outcome
            del self.outcome_note


class NewAgendaItemForm(AgendaItemForm):
    submit = SubmitField(_l("Add item"))


class MoveForm(BaseForm):
    """A move button: the direction, and the position the item had when the page was shown."""

    direction = HiddenField(validators=[DataRequired(), AnyOf(["up", "down"])])
    position = IntegerField(validators=[Optional(), NumberRange(min=0, max=100_000)])


class PullInForm(BaseForm):
    """One click on a group meeting's agenda: add the group's open problems or open actions."""

    what = HiddenField(validators=[DataRequired(), AnyOf(["problems", "actions"])])


class ProposalForm(BaseForm):
    """Add one thing the group's previous meeting left open (``kind`` and its id)."""

    kind = HiddenField(validators=[DataRequired(), AnyOf(["item", "problem", "action"])])
    ref = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,10}$")])


class MinutesForm(BaseForm):
    body = TextAreaField(
        _l("Minutes"),
        validators=[DataRequired(), Length(max=MINUTES_MAX_LENGTH)],
        description=_l("Markdown is allowed: ## headings, lists, **bold**, links."),
        render_kw={"rows": 20},
    )
    save = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Publish"))
