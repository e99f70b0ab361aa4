"""Absolute links for mails and feeds, built from BASE_URL, never from the request's Host."""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """``https://host/path`` for ``endpoint``; works in requests and in CLI jobs alike."""
    adapter = current_app.url_map.bind("localhost", script_name="/", url_scheme="https")
    path = adapter.build(endpoint, values, force_external=False)
    return current_app.config["BASE_URL"].rstrip("/") + path
