"""Forms of the calendar feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from coordination.forms import BaseForm, strip_filter


class TokenForm(BaseForm):
    """A new personal feed; the label tells the user later which app or device uses it."""

    label = StringField(
        _l("Name of the feed"),
        validators=[DataRequired(), Length(max=80)],
        filters=[strip_filter],
        description=_l(
            "For example “Phone” or “Outlook at work”, so you know later which to revoke."
        ),
    )
    submit = SubmitField(_l("Create personal feed"))
