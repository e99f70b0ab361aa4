"""The start page, the language switch and the privacy notice."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coordination.auth import services as accounts
from coordination.auth.models import Invitation, Locale
from coordination.auth.permissions import can_invite, can_view_outbox
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.services import outbox_summary
from coordination.meetings.models import Meeting
from coordination.meetings.permissions import visible_meetings_clause
from coordination.security import safe_next

bp = Blueprint("main", __name__)


def upcoming_meetings(user: object, limit: int) -> list[Meeting]:
    """The next meetings ``user`` may see (visitors: public ones), cancelled ones included."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(visible_meetings_clause(user), Meeting.ends_at >= utcnow())
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(limit)
        )
    )


@bp.route("/")
def index() -> ResponseReturnValue:
    """Dashboard for members; for visitors, what the network is and how to take part."""
    if not current_user.is_authenticated:
        if accounts.user_count() == 0:
            return redirect(url_for("setup.setup"))
        return render_template("main/welcome.html", meetings=upcoming_meetings(None, limit=10))
    context: dict[str, object] = {"meetings": upcoming_meetings(current_user, limit=5)}
    if can_invite(current_user):
        context["open_invitations"] = db.session.scalar(
            sa.select(sa.func.count(Invitation.id)).where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
    if can_view_outbox(current_user):
        context["outbox"] = outbox_summary()
    return render_template("main/dashboard.html", **context)


@bp.route("/language", methods=["POST"])
def set_language() -> ResponseReturnValue:
    """Switch the interface language; saved in the profile when logged in."""
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["locale"] = language
        if current_user.is_authenticated:
            current_user.locale = Locale(language)
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.index")), 303)


@bp.route("/privacy")
def privacy() -> ResponseReturnValue:
    """What the platform stores about whom, why, and for how long."""
    return render_template("main/privacy.html")
