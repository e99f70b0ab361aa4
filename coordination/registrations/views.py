"""Registering for meetings: members in one click, guests with double opt-in, waitlists."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registrations", __name__, url_prefix="/meetings")
