"""Application factory for Knotenpunkt, the coordination platform."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Largest id a URL may carry: PostgreSQL's INTEGER. Larger numbers answer 404, not a 500.
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that only matches values a database integer column can hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Flask application."""
    app = Flask(
        __name__,
        template_folder=PROJECT_ROOT / "templates",
        static_folder=PROJECT_ROOT / "static",
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
    )
    app.config.from_object("config.Config")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _configure_runtime(app)
    _configure_logging(app)

    app.url_map.converters["int"] = BoundedIntegerConverter
    if app.config["PROXY_FIX_X_FOR"] or app.config["PROXY_FIX_X_PROTO"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
        )

    from coordination import auth, cli, errors, i18n, models, security, templating  # noqa: F401
    from coordination.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)

    from coordination.actions.views import bp as actions_bp
    from coordination.admin.views import bp as admin_bp
    from coordination.agenda.views import bp as agenda_bp
    from coordination.attendance.views import bp as attendance_bp
    from coordination.auth.views import account_bp, auth_bp, setup_bp
    from coordination.calendar.views import bp as calendar_bp
    from coordination.groups.views import bp as groups_bp
    from coordination.main.views import bp as main_bp
    from coordination.meetings.views import bp as meetings_bp
    from coordination.network.views import bp as network_bp
    from coordination.notifications.views import bp as notifications_bp
    from coordination.ops.views import bp as ops_bp
    from coordination.organizations.views import bp as organizations_bp
    from coordination.problems.views import bp as problems_bp
    from coordination.projects.views import bp as projects_bp
    from coordination.registrations.views import bp as registrations_bp
    from coordination.search.views import bp as search_bp

    for blueprint in (
        main_bp,
        auth_bp,
        account_bp,
        setup_bp,
        admin_bp,
        organizations_bp,
        meetings_bp,
        agenda_bp,
        registrations_bp,
        attendance_bp,
        groups_bp,
        problems_bp,
        actions_bp,
        projects_bp,
        network_bp,
        calendar_bp,
        notifications_bp,
        ops_bp,
        search_bp,
    ):
        app.register_blueprint(blueprint)

    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def _configure_runtime(app: Flask) -> None:
    """Fill in defaults that depend on the instance folder and refuse unsafe production setups."""
    config = app.config
    production = config["ENV_NAME"] == "production" and not config.get("TESTING")
    config["IS_PRODUCTION"] = production
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'knotenpunkt.sqlite'}"
        )
    from config import INSECURE_SECRET_KEYS

    secret = config.get("SECRET_KEY") or ""
    if production:
        if secret in INSECURE_SECRET_KEYS or len(secret) < 32:
            raise RuntimeError(
                "SECRET_KEY is missing or insecure. Set SECRET_KEY to a random value of at "
                "least 32 characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
    elif not secret:
        config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    if production and config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        logging.getLogger(__name__).warning(
            "rate limits are kept per worker process (RATELIMIT_STORAGE_URI=memory://); "
            "set it to a shared store such as redis://127.0.0.1:6379/0"
        )


def _development_secret(instance_path: Path) -> str:
    """A per-checkout random key kept in ``instance/``, so development sessions survive restarts."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "development_secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class RedactTokens(logging.Filter):
    """Mask secret tokens in URL paths (invitation, reset and feed links) in any log line."""

    PATTERN = re.compile(
        r"(/auth/(?:invite|reset)/|/meetings/registration/|/calendar/personal/"
        r"|/notifications/unsubscribe/)[^\s/?\"']+"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.PATTERN.sub(r"\1[redacted]", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _configure_logging(app: Flask) -> None:
    level = app.config.get("LOG_LEVEL", "INFO")
    logging.getLogger("coordination").setLevel(level)
    # Request logs of the development server and of gunicorn contain paths with tokens.
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
