"""Languages: choosing the locale per request and compiling the catalogues on start-up."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, request, session
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from coordination.extensions import babel

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def init_app(app: Flask) -> None:
    compile_catalogues(TRANSLATIONS_DIR)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    # Flask-Babel converts aware datetimes into this zone when formatting them.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["NETWORK_TIMEZONE"]
    babel.init_app(app, locale_selector=select_locale)


def select_locale() -> str:
    """The user's saved language, else the one chosen this session, else the browser's."""
    languages = current_app.config["LANGUAGES"]
    try:
        user = current_user._get_current_object() if current_user else None
    except SQLAlchemyError:  # rendering an error page while the database is unreachable
        user = None
    if user is not None and user.is_authenticated and user.locale in languages:
        return str(user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(
        languages, default=current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def compile_catalogues(directory: Path) -> list[Path]:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older, atomically.

    This runs in the app factory so that a fresh checkout needs no manual compile step; it
    costs a stat() per language when nothing changed.
    """
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parent.parent.name)
        # Write to a temporary file and rename, so concurrent workers never read half a file.
        fd, tmp_name = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as mo_file:
                write_mo(mo_file, catalogue, use_fuzzy=False)
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        compiled.append(mo_path)
        log.info("compiled translations %s", mo_path.relative_to(directory))
    return compiled
