"""Forms for problems, solutions and their statuses; labels for the status and priority values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from coordination.forms import BaseForm, as_choices, strip_filter
from coordination.problems.models import (
    PRIORITY_RANK,
    Priority,
    ProblemStatus,
    SolutionStatus,
)

#: Longest problem description, solution text and outcome note (characters).
MAX_TEXT = 20000


def status_labels() -> dict[ProblemStatus, str]:
    return {
        ProblemStatus.OPEN: str(_l("Open")),
        ProblemStatus.IN_PROGRESS: str(_l("In progress")),
        ProblemStatus.RESOLVED: str(_l("Resolved")),
        ProblemStatus.CLOSED: str(_l("Closed")),
    }


def priority_labels() -> dict[Priority, str]:
    """Most pressing first."""
    labels = {
        Priority.URGENT: str(_l("Urgent")),
        Priority.HIGH: str(_l("High")),
        Priority.NORMAL: str(_l("Normal")),
        Priority.LOW: str(_l("Low")),
    }
    return dict(sorted(labels.items(), key=lambda pair: PRIORITY_RANK[pair[0]]))


def solution_status_labels() -> dict[SolutionStatus, str]:
    return {
        SolutionStatus.PROPOSED: str(_l("Proposed")),
        SolutionStatus.TRIAL: str(_l("On trial")),
        SolutionStatus.ADOPTED: str(_l("Adopted")),
        SolutionStatus.REJECTED: str(_l("Rejected")),
    }


class ProblemForm(BaseForm):
    title = StringField(
        _l("Title"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("What happens, since when, whom it affects. Markdown is allowed."),
        render_kw={"rows": 10},
    )
    priority = SelectField(_l("Priority"), choices=[], default=Priority.NORMAL.value)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.priority.choices = as_choices(
            (priority.value, label) for priority, label in priority_labels().items()
        )


class SolutionForm(BaseForm):
    text = TextAreaField(
        _l("Your proposal"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=MAX_TEXT)],
        description=_l("What could be done, by whom, and how we would know it works."),
        render_kw={"rows": 6},
    )
    submit = SubmitField(_l("Propose solution"))


class ProblemStatusForm(BaseForm):
    """The new status of a problem (sent by one button per possible change)."""

    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = as_choices(status_labels().items())


class SolutionStatusForm(BaseForm):
    """A lead moves a solution on (or back) and notes the outcome."""

    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])
    outcome_note = TextAreaField(
        _l("Outcome"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("What the trial showed or why the group decided so. Markdown is allowed."),
        render_kw={"rows": 4},
    )
    submit = SubmitField(_l("Save status"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = as_choices(solution_status_labels().items())
