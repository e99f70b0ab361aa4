"""Actions: my actions across groups, a group's board, creating and updating actions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("actions", __name__)
