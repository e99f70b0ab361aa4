"""Meetings: lists, detail pages, scheduling, series, agenda and minutes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
