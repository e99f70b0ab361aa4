"""The start page, the language switch and the privacy notice."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coordination.actions import services as actions
from coordination.auth import services as accounts
from coordination.auth.models import Invitation, Locale
from coordination.auth.permissions import can_invite, can_view_outbox
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.services import outbox_summary
from coordination.main import dashboard
from coordination.problems import forms as problem_labels
from coordination.projects.forms import status_labels as project_status_labels
from coordination.security import safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> ResponseReturnValue:
    """Dashboard for members; for visitors, what the network is and how to take part."""
    if not current_user.is_authenticated:
        if accounts.user_count() == 0:
            return redirect(url_for("setup.setup"))
        return render_template("main/welcome.html", meetings=dashboard.upcoming_public_meetings())
    user = current_user._get_current_object()
    today = actions.today()
    open_actions = actions.my_open_actions(user, today)
    context: dict[str, object] = {
        "my_meetings": dashboard.my_next_meetings(user),
        "open_actions": open_actions[: dashboard.MY_ACTIONS_LIMIT],
        "action_counts": actions.ActionCounts(
            open=len(open_actions),
            overdue=sum(1 for action in open_actions if action.is_overdue(today)),
        ),
        "action_viewer": actions.viewer_for(user),
        "today": today,
        "activity": dashboard.recent_group_activity(user),
        "my_projects": dashboard.my_projects(user, today),
        "project_statuses": project_status_labels(),
        "problem_statuses": problem_labels.status_labels(),
        "solution_statuses": problem_labels.solution_status_labels(),
    }
    if user.is_moderator:
        context["upcoming"] = dashboard.upcoming_with_registrations(user)
        context["follow_ups"] = dashboard.meetings_needing_follow_up(user)
    if can_invite(user):
        context["open_invitations"] = db.session.scalar(
            sa.select(sa.func.count(Invitation.id)).where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
    if can_view_outbox(user):
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
