"""The network overview for moderators: who works with whom, and who has dropped away."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from coordination.auth.models import Role
from coordination.auth.permissions import role_required
from coordination.network import charts, services
from coordination.projects.forms import status_labels as project_status_labels
from coordination.timeutil import local_today

bp = Blueprint("network", __name__, url_prefix="/network")


@bp.route("/")
@role_required(Role.ADMIN, Role.MODERATOR)
def overview() -> ResponseReturnValue:
    """Organisations × working groups, projects and meetings of the last twelve months, and
    the organisations not seen at a meeting for six months."""
    overview = services.network_overview(current_user, local_today())
    return render_template(
        "network/overview.html",
        overview=overview,
        matrix=charts.network_matrix(overview),
        max_rows=charts.MAX_ROWS,
        group_names={group.id: group for group in overview.groups},
        project_statuses=project_status_labels(),
    )
