#!/bin/sh
# Calendar-feed benchmark (issue #5, point 7): see bench/README.md. Needs wrk and gunicorn.
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/feeds.py "$@"
