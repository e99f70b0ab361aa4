"""Security headers, safe redirects and request hygiene applied to every response."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    app.before_request(_reject_nul_in_url)
    app.after_request(_set_security_headers)


def _reject_nul_in_url() -> None:
    # PostgreSQL refuses NUL bytes in text: a %00 in a slug or a query argument would
    # otherwise end as a database error. No real link contains one.
    if "\x00" in request.path or any("\x00" in value for value in request.args.values()):
        abort(404 if "\x00" in request.path else 400)


def _set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if g.get("no_referrer"):
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config.get("IS_PRODUCTION") and request.scheme == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Personal pages must not be kept by shared caches or the browser's back-forward cache.
    # Look at the user only if the request loaded one: /healthz must not touch the database.
    user = g.get("_login_user")
    if request.endpoint != "static" and (
        g.get("no_referrer") or (user is not None and user.is_authenticated)
    ):
        headers.setdefault("Cache-Control", "private, no-store")
        # A response marked public (the public calendar feeds) is the same for every cookie.
        if "public" not in headers["Cache-Control"]:
            headers.add("Vary", "Cookie")
    return response


def no_referrer(view: F) -> F:
    """Mark a view whose URL carries a secret token: the browser must not pass it on."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.no_referrer = True
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def is_safe_redirect(target: str | None) -> bool:
    """True for a path on this site (``/x``), false for anything that could leave it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ord(char) < 32 or char == "\\" for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a local path, else ``default``."""
    return target if is_safe_redirect(target) else default
