"""A Flask app with nothing but ``/healthz``: the framework's ceiling on this machine.

bench/feeds.py serves it with the same gunicorn settings as the real app, for comparison only;
the targets are ratios to the real app's own ``/healthz``.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/healthz")
def healthz() -> object:
    return jsonify(status="ok")
