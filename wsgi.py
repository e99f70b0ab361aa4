"""WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds from the repository root."""

from coordination import create_app

app = create_app()
