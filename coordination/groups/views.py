"""Working groups: list, detail page, create and edit, membership, join requests."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("groups", __name__, url_prefix="/groups")
