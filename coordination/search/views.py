"""The search page (``/search?q=…``): hits grouped by kind, or one kind page by page (``type=``).

Members search everything they may read; visitors search the public meetings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from coordination.organizations.forms import kind_labels as organization_kind_labels
from coordination.pagination import MAX_PAGE
from coordination.projects.forms import status_labels as project_status_labels
from coordination.search import services

bp = Blueprint("search", __name__)

#: Hits per kind on the overview, and per page when one kind is shown alone.
OVERVIEW_LIMIT = 10
PER_PAGE = 25


@dataclass(frozen=True)
class Hit:
    """One hit as the page shows it: a link, the title and a snippet with marked matches."""

    id: int
    url: str
    title: Markup
    snippet: Markup
    item: Any


def kind_labels() -> dict[str, str]:
    return {
        "meetings": _("Meetings"),
        "problems": _("Problems"),
        "solutions": _("Solutions"),
        "actions": _("Actions"),
        "projects": _("Projects"),
        "organizations": _("Organisations"),
    }


def _hit(kind: str, item: Any, terms: tuple[str, ...]) -> Hit:
    if kind == "meetings":
        venue = ", ".join(part for part in (item.venue_name, item.venue_address) if part)
        url = url_for("meetings.detail", meeting_id=item.id)
        return Hit(
            item.id,
            url,
            services.highlight(item.title, terms),
            services.best_snippet([services.markdown_text(item.description), venue], terms),
            item,
        )
    if kind == "problems":
        url = url_for("problems.detail", slug=item.group.slug, issue_id=item.id)
        return Hit(
            item.id,
            url,
            services.highlight(item.title, terms),
            services.snippet(services.markdown_text(item.description), terms),
            item,
        )
    if kind == "solutions":
        issue = item.issue
        url = url_for(
            "problems.detail",
            slug=issue.group.slug,
            issue_id=issue.id,
            _anchor=f"solution-{item.id}",
        )
        return Hit(
            item.id,
            url,
            services.highlight(issue.title, terms),
            services.snippet(services.markdown_text(item.text), terms),
            item,
        )
    if kind == "actions":
        url = url_for("actions.detail", action_id=item.id)
        return Hit(
            item.id,
            url,
            services.highlight(item.title, terms),
            services.snippet(services.markdown_text(item.notes), terms),
            item,
        )
    if kind == "projects":
        return Hit(
            item.id,
            url_for("projects.detail", slug=item.slug),
            services.highlight(item.name, terms),
            services.best_snippet([item.summary, services.markdown_text(item.description)], terms),
            item,
        )
    url = url_for("organizations.detail", slug=item.slug)
    return Hit(
        item.id,
        url,
        services.highlight(item.name, terms),
        services.best_snippet([services.markdown_text(item.description), item.district], terms),
        item,
    )


def _page_number() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


@bp.route("/search")
def index() -> ResponseReturnValue:
    """Search what the viewer may see; an empty query shows the form and runs no search."""
    query = services.parse_query(request.args.get("q", ""))
    kinds = services.kinds_for(current_user)
    kind = request.args.get("type", "")
    if kind not in kinds:
        kind = ""
    if not query.terms:
        results = []
    elif kind:
        results = [
            services.search_kind(query, current_user, kind, page=_page_number(), per_page=PER_PAGE)
        ]
    else:
        results = services.search_all(query, current_user, limit=OVERVIEW_LIMIT)
    hits = {
        result.kind: [_hit(result.kind, item, query.terms) for item in result.items]
        for result in results
    }
    return render_template(
        "search/index.html",
        query=query,
        asked=bool(request.args.get("q", "").strip()),
        kind=kind,
        kinds=kinds,
        results=results,
        hits=hits,
        labels=kind_labels(),
        project_status_labels=project_status_labels(),
        organization_kinds=organization_kind_labels(),
        total=sum(result.total for result in results),
        max_query_chars=services.MAX_QUERY_CHARS,
    )
