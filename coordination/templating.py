"""Template filters and globals shared by all pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from coordination.auth.permissions import TEMPLATE_PREDICATES
from coordination.groups.permissions import TEMPLATE_PREDICATES as GROUP_PREDICATES
from coordination.meetings.permissions import TEMPLATE_PREDICATES as MEETING_PREDICATES
from coordination.projects.permissions import TEMPLATE_PREDICATES as PROJECT_PREDICATES
from coordination.text import render_markdown


def network_zone() -> ZoneInfo:
    """The network's time zone (``NETWORK_TIMEZONE``, default Europe/Berlin)."""
    return ZoneInfo(current_app.config["NETWORK_TIMEZONE"])


def local_datetime(value: datetime | None, format: str = "medium") -> str:
    """Show an aware UTC datetime in the network's time zone and the user's language."""
    if value is None:
        return ""
    return format_datetime(value, format)


def local_date(value: datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(value.astimezone(network_zone()).date(), format)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(TEMPLATE_PREDICATES)
    app.jinja_env.globals.update(MEETING_PREDICATES)
    app.jinja_env.globals.update(GROUP_PREDICATES)
    app.jinja_env.globals.update(PROJECT_PREDICATES)
    app.jinja_env.globals["format_decimal"] = format_decimal
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "network_name": current_app.config["NETWORK_NAME"],
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
