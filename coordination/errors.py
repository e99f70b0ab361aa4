"""Error pages in the user's language; database errors become 4xx answers, never 500s."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from coordination.extensions import db

log = logging.getLogger(__name__)

HANDLED_CODES = (400, 403, 404, 405, 409, 413, 429)


def _wants_json() -> bool:
    return request.path in ("/healthz", "/readyz")


def _render(code: int, **context: object) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(status="error", code=code), code
    return render_template(f"errors/{code}.html", **context), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        db.session.rollback()
        log.info("CSRF check failed on %s: %s", request.endpoint, error.description)
        return _render(400, csrf=True)

    @app.errorhandler(DataError)
    def data_error(error: DataError) -> ResponseReturnValue:
        # For example a value outside a column's range that slipped past form validation.
        db.session.rollback()
        log.warning(
            "database refused a value on %s: %s", request.endpoint, type(error.orig).__name__
        )
        return _render(400)

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError) -> ResponseReturnValue:
        # A concurrent or repeated submit hit a unique constraint.
        db.session.rollback()
        log.info("conflicting write on %s: %s", request.endpoint, type(error.orig).__name__)
        return _render(409)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code >= 500:
            return _server_error(error)
        if code not in HANDLED_CODES:
            return error
        body, status = _render(code)
        headers = {}
        valid_methods = getattr(error, "valid_methods", None)
        if code == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return body, status, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ResponseReturnValue:
        return _server_error(error)


def _server_error(error: Exception) -> ResponseReturnValue:
    db.session.rollback()
    incident = secrets.token_hex(4)
    original = getattr(error, "original_exception", None) or error
    log.error("incident %s on %s", incident, request.endpoint, exc_info=original)
    if _wants_json():
        return jsonify(status="error", code=500, incident=incident), 500
    return render_template("errors/500.html", incident=incident), 500
