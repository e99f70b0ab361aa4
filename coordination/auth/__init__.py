"""Accounts, login sessions and roles."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from coordination.extensions import login_manager


def init_app(app: Flask) -> None:
    from coordination.auth.services import load_session_user

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_session_user)
