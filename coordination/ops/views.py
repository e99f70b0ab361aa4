"""Liveness and readiness endpoints for load balancers and monitoring."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from coordination.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@cache
def _head_revisions(migrations_dir: str) -> frozenset[str]:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@bp.route("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    """The process is alive. Touches neither the database nor the session."""
    return jsonify(status="ok")


@bp.route("/readyz")
@limiter.exempt
def readyz() -> ResponseReturnValue:
    """Ready for traffic: the database answers and its schema is at the newest migration."""
    migrations_dir = str(Path(current_app.extensions["migrate"].directory))
    try:
        current = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        log.warning("readiness check failed: %s", type(error).__name__)
        return jsonify(status="unavailable", database="unreachable or not migrated"), 503
    if current != set(_head_revisions(migrations_dir)):
        return jsonify(status="unavailable", database="schema not at head"), 503
    return jsonify(status="ok", database="ok")
