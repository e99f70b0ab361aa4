"""Check-in during the meeting, attendance exports, the sign-in sheet and statistics."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("attendance", __name__, url_prefix="/meetings")
