"""A group's problems, their solutions and endorsements, and each problem's timeline."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("problems", __name__, url_prefix="/groups")
