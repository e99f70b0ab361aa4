"""Calendar: the subscription page, the feeds, single-meeting downloads and feed tokens.

Feeds answer exactly what calendar apps expect (research/calendar.md §9): 200 with
``text/calendar; charset=utf-8``, a strong ETag and Last-Modified, 304 for a matching
conditional request (answered before anything is built), no redirects, no content negotiation,
``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import limits
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from werkzeug.http import is_resource_modified

from coordination.auth.views import render_account
from coordination.calendar import ics, services
from coordination.calendar.forms import TokenForm
from coordination.extensions import db, limiter
from coordination.groups import services as groups
from coordination.meetings.models import Meeting
from coordination.meetings.permissions import can_view_meeting
from coordination.security import no_referrer
from coordination.text import slugify
from coordination.timeutil import utc_to_local
from coordination.urls import external_url

bp = Blueprint("calendar", __name__)


def _feed_response(
    feed_key: str, locale: str, build: Any, *, private: bool, filename: str
) -> Response:
    """Answer a feed request: 304 if the client's copy is current, else the (cached) feed."""
    checked = services.validators(feed_key, locale)
    response = Response(status=200, mimetype="text/calendar")
    response.set_etag(checked.etag)
    response.last_modified = checked.last_modified
    response.headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age=900"
    if not is_resource_modified(
        request.environ, etag=checked.etag, last_modified=checked.last_modified
    ):
        response.status_code = 304
        return response
    body = services.cached_feed(feed_key, checked.etag, build)
    response.set_data(body)
    # A name for "save as"; no "attachment": the URL is subscribed to, not downloaded.
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route("/calendar/public.ics")
@no_referrer
def public_feed() -> ResponseReturnValue:
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    return _feed_response(
        "public",
        locale,
        lambda: services.build_public_feed(locale),
        private=False,
        filename="public.ics",
    )


@bp.route("/calendar/groups/<string(maxlength=80):slug>.ics")
@no_referrer
def group_feed(slug: str) -> ResponseReturnValue:
    group = services.open_group(slug)
    if group is None:
        abort(404)
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    return _feed_response(
        f"group:{group.id}",
        locale,
        lambda: services.build_group_feed(group, locale),
        private=False,
        filename=f"{group.slug}.ics",
    )


def _count_invalid_token() -> None:
    """Rate limit guesses: only unknown or revoked tokens count, valid ones are never slowed."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    rate = limits.parse(current_app.config["FEED_TOKEN_RATE_LIMIT"])
    if not limiter.limiter.hit(rate, "calendar-token", get_remote_address()):
        abort(429)


@bp.route("/calendar/personal/<string(maxlength=100):token>.ics")
@no_referrer
def personal_feed(token: str) -> ResponseReturnValue:
    row = services.find_token(token)
    if row is None:
        _count_invalid_token()
        abort(404)
    user = row.user
    if services.note_use(row):
        db.session.commit()
    return _feed_response(
        f"personal:{user.id}",
        str(user.locale),
        lambda: services.build_personal_feed(user),
        private=True,
        filename="knotenpunkt.ics",
    )


@bp.route("/meetings/<int:meeting_id>.ics")
def meeting_download(meeting_id: int) -> ResponseReturnValue:
    """One meeting as an .ics file for "add to calendar" (same UID as in every feed)."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not can_view_meeting(current_user, meeting):
        abort(404)
    body = services.build_meeting_download(meeting, current_user)
    day = utc_to_local(meeting.starts_at).date().isoformat()
    filename = f"{slugify(meeting.title)[:60] or 'meeting'}-{day}.ics"
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- the subscription page ---------------------------------------------------------------------


@bp.route("/calendar/")
def overview() -> ResponseReturnValue:
    """Which feeds the user can subscribe to, with links and per-app instructions."""
    user = current_user if current_user.is_authenticated else None
    group_feeds = [
        (group, services.subscription_links(external_url("calendar.group_feed", slug=group.slug)))
        for group in services.readable_open_groups(user)
    ]
    tokens = services.tokens_of(user) if user is not None else []
    return render_template(
        "calendar/overview.html",
        public=services.subscription_links(external_url("calendar.public_feed")),
        group_feeds=group_feeds,
        member_group_ids=groups.member_group_ids(user) if user is not None else set(),
        tokens=tokens,
    )


# --- personal feed tokens (managed on /account/) -----------------------------------------------


@bp.route("/calendar/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    form = TokenForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            token, _row = services.create_token(user, form.label.data)
        except services.TooManyTokens:
            db.session.rollback()
            flash(
                _(
                    "You have %(num)d feeds already. Revoke one you no longer use first.",
                    num=services.MAX_TOKENS_PER_USER,
                ),
                "error",
            )
            return redirect(url_for("account.profile", _anchor="calendar-feeds"), 303)
        db.session.commit()
        session[services.NEW_TOKEN_KEY] = token
        flash(_("Your personal calendar feed has been created."), "success")
        return redirect(url_for("account.profile", _anchor="calendar-feeds"), 303)
    return render_account(token_form=form), 400


@bp.route("/calendar/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    user = current_user._get_current_object()
    row = services.own_token(user, token_id)
    if row is None:
        abort(404)
    label = row.label
    services.revoke_token(row, actor=user)
    db.session.commit()
    flash(
        _(
            "The feed “%(label)s” has been revoked. Calendar apps using it get nothing more.",
            label=label,
        ),
        "success",
    )
    return redirect(url_for("account.profile", _anchor="calendar-feeds"), 303)


# --- template helpers --------------------------------------------------------------------------


@bp.app_template_global()
def google_template_url(meeting: Meeting) -> str:
    """Google's "create event" link: for Android, where the Google app cannot open .ics files."""
    if meeting.is_all_day:
        first = utc_to_local(meeting.starts_at).date()
        last = max(utc_to_local(meeting.ends_at).date(), first + timedelta(days=1))
        dates = f"{first:%Y%m%d}/{last:%Y%m%d}"
    else:
        dates = f"{ics.utc_stamp(meeting.starts_at)}/{ics.utc_stamp(meeting.ends_at)}"
    place = ", ".join(part for part in (meeting.venue_name, meeting.venue_address) if part)
    query = {
        "action": "TEMPLATE",
        "text": meeting.title,
        "dates": dates,
        "ctz": current_app.config["NETWORK_TIMEZONE"],
        "details": external_url("meetings.detail", meeting_id=meeting.id),
        "location": place,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
