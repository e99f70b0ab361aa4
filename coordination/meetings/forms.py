"""Forms for scheduling meetings and series.

Users enter local dates and times (Europe/Berlin); the forms turn them into aware UTC values
and refuse times that do not exist or exist twice on a daylight-saving switch.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from babel.dates import get_day_names
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from coordination.forms import BaseForm, as_choices, strip_filter
from coordination.groups.models import WorkingGroup
from coordination.meetings.models import Frequency, Meeting, MeetingKind, MeetingSeries, Visibility
from coordination.meetings.services import week_of_month_for
from coordination.notifications.forms import InviteFields, invite_intro
from coordination.timeutil import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    all_day_bounds,
    local_to_utc,
    local_today,
    utc_to_local,
)

if TYPE_CHECKING:
    from coordination.notifications.invitations import AudienceChoices

#: Dates outside these years are typing mistakes (and would overflow time zone arithmetic).
FIRST_YEAR, LAST_YEAR = 2000, 2100
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
MAX_CAPACITY = 10000
#: A new series may start this far in the past (to record a season that has begun).
SERIES_PAST_DAYS = 366


def kind_labels() -> dict[MeetingKind, str]:
    return {
        MeetingKind.NETWORK: str(_l("Network meeting")),
        MeetingKind.GROUP: str(_l("Working group meeting")),
        MeetingKind.OTHER: str(_l("Other meeting")),
    }


def visibility_labels() -> dict[Visibility, str]:
    return {
        Visibility.PUBLIC: str(_l("Public: also visitors without an account")),
        Visibility.NETWORK: str(_l("Network: all members")),
        Visibility.GROUP: str(_l("Group: whoever may read the working group")),
    }


def frequency_labels() -> dict[Frequency, str]:
    return {
        Frequency.WEEKLY: str(_l("Weekly (every n weeks on a weekday)")),
        Frequency.MONTHLY_WEEKDAY: str(_l("Monthly on a weekday (e.g. 2nd Tuesday)")),
        Frequency.MONTHLY_DAY: str(_l("Monthly on a day of the month (e.g. the 15th)")),
    }


def week_of_month_labels() -> dict[int, str]:
    return {
        1: str(_l("first")),
        2: str(_l("second")),
        3: str(_l("third")),
        4: str(_l("fourth")),
        -1: str(_l("last")),
    }


def weekday_names() -> list[str]:
    """Monday … Sunday in the user's language."""
    names = get_day_names("wide", locale=get_locale() or "de")
    return [names[day] for day in range(7)]


def _reasonable_date(form: BaseForm, field: Field) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(
            _l("Enter a date between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        )


def _http_url(form: BaseForm, field: Field) -> None:
    if field.data and not field.data.lower().startswith(("http://", "https://")):
        raise ValidationError(_l("Enter a web address starting with https://"))
    if field.data and any(char.isspace() for char in field.data):
        raise ValidationError(_l("A web address cannot contain spaces."))


def _local_instant(day: date, at: time, field: Field) -> datetime | None:
    """UTC instant of a local date and time, or None with an error beside ``field``."""
    try:
        return local_to_utc(day, at, strict=True)
    except NonexistentLocalTime:
        field.errors.append(
            _l(
                "This time does not exist: the clocks go forward at 2:00 that night. "
                "Choose another time."
            )
        )
    except AmbiguousLocalTime:
        field.errors.append(
            _l(
                "This time happens twice: the clocks go back at 3:00 that night. "
                "Choose another time."
            )
        )
    return None


class _ScheduleFields(BaseForm):
    """Title, kind, group, place, description and visibility: common to meetings and series."""

    title = StringField(
        _l("Title"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    kind = SelectField(_l("Kind"), choices=[], validators=[DataRequired()])
    group_id = SelectField(_l("Working group"), choices=[], validators=[Optional()])
    venue_name = StringField(
        _l("Venue"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200)],
        description=_l("For example: VHS Leipzig, Room 304"),
    )
    venue_address = StringField(
        _l("Full address"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=500)],
        description=_l("Street, number, postcode and town, e.g. Löhrstraße 3-7, 04105 Leipzig"),
    )
    online_url = URLField(
        _l("Online link"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=500), _http_url],
        description=_l("Video conference link (https://…), if people can join online."),
    )
    is_online_url_public = BooleanField(
        _l("Show the online link to visitors (public meetings only)")
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What the meeting is about. Markdown is allowed."),
        render_kw={"rows": 8},
    )
    visibility = SelectField(
        _l("Who may see it"), choices=[], default="network", validators=[DataRequired()]
    )
    capacity = IntegerField(
        _l("Seats"),
        validators=[Optional(), NumberRange(min=1, max=MAX_CAPACITY)],
        description=_l("Leave empty for unlimited seats."),
        render_kw={"min": 1, "max": MAX_CAPACITY, "inputmode": "numeric"},
    )
    allows_guests = BooleanField(_l("Guests without an account may register (public meetings)"))

    def __init__(
        self,
        *args: Any,
        groups: list[WorkingGroup],
        kinds: list[MeetingKind],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.groups = {str(group.id): group for group in groups}
        labels = kind_labels()
        self.kind.choices = as_choices((kind.value, labels[kind]) for kind in kinds)
        group_choices = [(group.id, group.name) for group in groups]
        if MeetingKind.NETWORK in kinds:  # moderators may leave the group empty
            group_choices.insert(0, ("", _l("— no working group —")))
        self.group_id.choices = as_choices(group_choices)
        self.visibility.choices = as_choices(
            (value.value, label) for value, label in visibility_labels().items()
        )
        self.selected_group: WorkingGroup | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            return False
        return self._check_audience()

    def _check_audience(self) -> bool:
        """Kind, group, visibility and guests must fit together."""
        self.selected_group = self.groups.get(self.group_id.data or "")
        kind = MeetingKind(self.kind.data)
        visibility = Visibility(self.visibility.data)
        group = self.selected_group
        if kind is MeetingKind.GROUP and group is None:
            self.group_id.errors.append(_l("A working group meeting needs a working group."))
        if visibility is Visibility.GROUP and group is None:
            self.visibility.errors.append(_l("Choose a working group, or another visibility."))
        if group is not None and group.is_confidential and visibility is not Visibility.GROUP:
            self.visibility.errors.append(
                _l("Meetings of a confidential group are visible to the group only.")
            )
        if self.allows_guests.data and visibility is not Visibility.PUBLIC:
            self.allows_guests.errors.append(_l("Only public meetings can accept guests."))
        return not any(
            field.errors for field in (self.group_id, self.visibility, self.allows_guests)
        )

    def audience_fields(self) -> dict[str, Any]:
        visibility = Visibility(self.visibility.data)
        return {
            "title": self.title.data,
            "kind": MeetingKind(self.kind.data),
            "group_id": self.selected_group.id if self.selected_group else None,
            "venue_name": self.venue_name.data or "",
            "venue_address": self.venue_address.data or "",
            "online_url": self.online_url.data or "",
            "is_online_url_public": bool(
                self.is_online_url_public.data and visibility is Visibility.PUBLIC
            ),
            "description": self.description.data or "",
            "visibility": visibility,
            "capacity": self.capacity.data,
            "allows_guests": bool(self.allows_guests.data),
        }


def _add_invite_section(form: Any, audience: AudienceChoices | None, *, series: bool) -> None:
    """Offer whom to invite (new meetings and series only) as the form's last section."""
    names = form.setup_invite_fields(audience, intro=invite_intro(series=series))
    if names:
        legend = _l("Invite people (optional)")
        form.SECTIONS = (*type(form).SECTIONS, (legend, tuple(names)))


class MeetingForm(InviteFields, _ScheduleFields):
    """Schedule or change one meeting. Occurrences of a series also ask how far a change goes."""

    start_date = DateField(_l("Date"), validators=[InputRequired(), _reasonable_date])
    start_time = TimeField(_l("Starts at"), format=TIME_FORMATS, validators=[Optional()])
    end_date = DateField(
        _l("End date"),
        validators=[Optional(), _reasonable_date],
        description=_l("Only if the meeting ends on another day."),
    )
    end_time = TimeField(_l("Ends at"), format=TIME_FORMATS, validators=[Optional()])
    is_all_day = BooleanField(_l("All day (no times)"))
    is_registration_open = BooleanField(_l("Registration is open"), default=True)
    registration_closes_date = DateField(
        _l("Registration closes on"),
        validators=[Optional(), _reasonable_date],
        description=_l("Optional. Without a date, people can register until the start."),
    )
    registration_closes_time = TimeField(
        _l("Registration closes at"), format=TIME_FORMATS, validators=[Optional()]
    )
    scope = RadioField(
        _l("Apply the changes to"),
        choices=[],
        default="this",
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Save"))

    #: Field order on the page: (legend, field names).
    SECTIONS = (
        (_l("What"), ("title", "kind", "group_id")),
        (
            _l("When"),
            ("start_date", "start_time", "end_date", "end_time", "is_all_day"),
        ),
        (_l("Where"), ("venue_name", "venue_address", "online_url", "is_online_url_public")),
        (_l("About"), ("description",)),
        (
            _l("Visibility and registration"),
            (
                "visibility",
                "capacity",
                "is_registration_open",
                "registration_closes_date",
                "registration_closes_time",
                "allows_guests",
            ),
        ),
    )

    def __init__(
        self,
        *args: Any,
        occurrence: bool = False,
        audience: AudienceChoices | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _add_invite_section(self, audience, series=False)
        if occurrence:
            self.scope.choices = as_choices(
                [
                    ("this", _l("Only this meeting")),
                    ("following", _l("This and all following meetings of the series")),
                ]
            )
        else:
            del self.scope
        self.starts_at: datetime | None = None
        self.ends_at: datetime | None = None
        self.registration_closes_at: datetime | None = None

    @property
    def applies_to_following(self) -> bool:
        return "scope" in self._fields and self.scope.data == "following"

    def validate(self, extra_validators: Any = None) -> bool:
        if not BaseForm.validate(self, extra_validators):
            return False
        audience_ok = self._check_audience()
        times_ok = self._check_times()
        return audience_ok and times_ok

    def _check_times(self) -> bool:
        first_day = self.start_date.data
        last_day = self.end_date.data or first_day
        if self.is_all_day.data:
            if last_day < first_day:
                self.end_date.errors.append(_l("The end must be after the start."))
                return False
            self.starts_at, self.ends_at = all_day_bounds(first_day, last_day)
        else:
            for field in (self.start_time, self.end_time):
                if field.data is None:
                    field.errors.append(_l("Enter a time, or mark the meeting as all day."))
            if self.start_time.errors or self.end_time.errors:
                return False
            self.starts_at = _local_instant(first_day, self.start_time.data, self.start_time)
            self.ends_at = _local_instant(last_day, self.end_time.data, self.end_time)
            if self.starts_at is None or self.ends_at is None:
                return False
            if self.ends_at <= self.starts_at:
                self.end_time.errors.append(_l("The end must be after the start."))
                return False
        return self._check_deadline()

    def _check_deadline(self) -> bool:
        day, at = self.registration_closes_date.data, self.registration_closes_time.data
        if day is None and at is None:
            self.registration_closes_at = None
            return True
        if day is None:
            self.registration_closes_date.errors.append(_l("Enter the date as well."))
            return False
        if at is None:
            self.registration_closes_time.errors.append(_l("Enter the time as well."))
            return False
        closes = _local_instant(day, at, self.registration_closes_time)
        if closes is None:
            return False
        assert self.starts_at is not None
        if closes >= self.starts_at:
            self.registration_closes_date.errors.append(
                _l("Registration must close before the meeting starts.")
            )
            return False
        self.registration_closes_at = closes
        return True

    def meeting_fields(self) -> dict[str, Any]:
        """The validated values as :class:`Meeting` attributes (times in UTC)."""
        return {
            **self.audience_fields(),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "is_all_day": bool(self.is_all_day.data),
            "is_registration_open": bool(self.is_registration_open.data),
            "registration_closes_at": self.registration_closes_at,
        }

    @staticmethod
    def initial_data(meeting: Meeting) -> dict[str, Any]:
        """Form values for an existing meeting, in local time."""
        start = utc_to_local(meeting.starts_at)
        end = utc_to_local(meeting.ends_at)
        data: dict[str, Any] = {
            "title": meeting.title,
            "kind": meeting.kind.value,
            "group_id": str(meeting.group_id) if meeting.group_id else "",
            "venue_name": meeting.venue_name,
            "venue_address": meeting.venue_address,
            "online_url": meeting.online_url,
            "is_online_url_public": meeting.is_online_url_public,
            "description": meeting.description,
            "visibility": meeting.visibility.value,
            "capacity": meeting.capacity,
            "allows_guests": meeting.allows_guests,
            "is_all_day": meeting.is_all_day,
            "is_registration_open": meeting.is_registration_open,
            "start_date": start.date(),
            "scope": "this",
        }
        if meeting.is_all_day:
            last_day = (end - timedelta(days=1)).date()
            data["end_date"] = last_day if last_day != start.date() else None
        else:
            data["start_time"] = start.time()
            data["end_time"] = end.time()
            data["end_date"] = end.date() if end.date() != start.date() else None
        if meeting.registration_closes_at is not None:
            closes = utc_to_local(meeting.registration_closes_at)
            data["registration_closes_date"] = closes.date()
            data["registration_closes_time"] = closes.time()
        return data


class SeriesForm(InviteFields, _ScheduleFields):
    """Create a series: a recurrence rule in local time plus the defaults of its meetings."""

    frequency = SelectField(_l("Repeats"), choices=[], validators=[DataRequired()])
    interval = IntegerField(
        _l("Every"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=12)],
        description=_l("1 = every week or month, 2 = every other one, …"),
        render_kw={"min": 1, "max": 12, "inputmode": "numeric"},
    )
    weekday = SelectField(
        _l("Weekday"),
        choices=[],
        validators=[Optional()],
        description=_l("Empty: the weekday of the first date."),
    )
    week_of_month = SelectField(
        _l("Which one in the month"),
        choices=[],
        validators=[Optional()],
        description=_l("For monthly on a weekday. Empty: as on the first date."),
    )
    day_of_month = IntegerField(
        _l("Day of the month"),
        validators=[Optional(), NumberRange(min=1, max=31)],
        description=_l("For monthly on a day. Months without this day are skipped."),
        render_kw={"min": 1, "max": 31, "inputmode": "numeric"},
    )
    start_date = DateField(_l("First date"), validators=[InputRequired(), _reasonable_date])
    until_date = DateField(
        _l("Last date"),
        validators=[Optional(), _reasonable_date],
        description=_l("Optional. Without it the series continues."),
    )
    start_time = TimeField(_l("Starts at"), format=TIME_FORMATS, validators=[InputRequired()])
    end_time = TimeField(_l("Ends at"), format=TIME_FORMATS, validators=[InputRequired()])
    registration_closes_hours = IntegerField(
        _l("Registration closes hours before the start"),
        validators=[Optional(), NumberRange(min=0, max=720)],
        description=_l("Optional. Empty: people can register until the start."),
        render_kw={"min": 0, "max": 720, "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Create series"))

    SECTIONS = (
        (_l("What"), ("title", "kind", "group_id")),
        (
            _l("Rule"),
            (
                "frequency",
                "interval",
                "weekday",
                "week_of_month",
                "day_of_month",
                "start_date",
                "until_date",
                "start_time",
                "end_time",
            ),
        ),
        (_l("Where"), ("venue_name", "venue_address", "online_url", "is_online_url_public")),
        (_l("About"), ("description",)),
        (
            _l("Visibility and registration"),
            ("visibility", "capacity", "registration_closes_hours", "allows_guests"),
        ),
    )

    def __init__(self, *args: Any, audience: AudienceChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_invite_section(self, audience, series=True)
        self.frequency.choices = as_choices(
            (value.value, label) for value, label in frequency_labels().items()
        )
        self.weekday.choices = as_choices(
            [("", _l("— as on the first date —")), *enumerate(weekday_names())]
        )
        self.week_of_month.choices = as_choices(
            [("", _l("— as on the first date —")), *week_of_month_labels().items()]
        )

    def validate(self, extra_validators: Any = None) -> bool:
        if not BaseForm.validate(self, extra_validators):
            return False
        audience_ok = self._check_audience()
        start, end = self.start_time.data, self.end_time.data
        times_ok = True
        if end <= start:
            self.end_time.errors.append(_l("The end must be after the start (on the same day)."))
            times_ok = False
        first_allowed = local_today() - timedelta(days=SERIES_PAST_DAYS)
        if self.start_date.data < first_allowed:
            self.start_date.errors.append(
                _(
                    "A series can start at most a year ago (earliest: %(date)s).",
                    date=format_date(first_allowed),
                )
            )
            times_ok = False
        until = self.until_date.data
        if until is not None and until < self.start_date.data:
            self.until_date.errors.append(_l("The last date must not be before the first."))
            times_ok = False
        return audience_ok and times_ok

    def series_fields(self) -> dict[str, Any]:
        """The validated values as :class:`MeetingSeries` attributes."""
        frequency = Frequency(self.frequency.data)
        start_date = self.start_date.data
        start = datetime.combine(start_date, self.start_time.data)
        end = datetime.combine(start_date, self.end_time.data)
        weekday = int(self.weekday.data) if self.weekday.data else start_date.weekday()
        week_of_month = int(self.week_of_month.data) if self.week_of_month.data else None
        fields = self.audience_fields()
        fields.update(
            frequency=frequency,
            interval=self.interval.data,
            weekday=weekday if frequency is not Frequency.MONTHLY_DAY else None,
            week_of_month=None,
            day_of_month=None,
            start_date=start_date,
            until_date=self.until_date.data,
            start_time=self.start_time.data.replace(second=0, microsecond=0),
            duration_minutes=int((end - start).total_seconds() // 60),
            registration_closes_hours=self.registration_closes_hours.data,
        )
        if frequency is Frequency.MONTHLY_WEEKDAY:
            fields["week_of_month"] = week_of_month or week_of_month_for(start_date)
        if frequency is Frequency.MONTHLY_DAY:
            fields["day_of_month"] = self.day_of_month.data or start_date.day
        return fields


def describe_rule(series: MeetingSeries) -> str:
    """ "Every 2nd Tuesday of the month" and similar, in the user's language."""
    days = weekday_names()
    interval = series.interval
    weekday = days[series.weekday] if series.weekday is not None else ""
    if series.frequency is Frequency.WEEKLY:
        if interval == 1:
            return _("Every %(weekday)s", weekday=weekday)
        return _("Every %(num)d weeks on %(weekday)s", num=interval, weekday=weekday)
    if series.frequency is Frequency.MONTHLY_WEEKDAY:
        nth = week_of_month_labels().get(series.week_of_month or 1, "")
        if interval == 1:
            return _("Every %(nth)s %(weekday)s of the month", nth=nth, weekday=weekday)
        return _(
            "Every %(num)d months on the %(nth)s %(weekday)s",
            num=interval,
            nth=nth,
            weekday=weekday,
        )
    day = series.day_of_month or 1
    if interval == 1:
        return _("Monthly on day %(day)d", day=day)
    return _("Every %(num)d months on day %(day)d", num=interval, day=day)


class EndSeriesForm(BaseForm):
    until_date = DateField(
        _l("Last date of the series"),
        validators=[InputRequired(), _reasonable_date],
        description=_l("Meetings after this date are cancelled; earlier ones stay."),
    )
    submit = SubmitField(_l("End series"))
