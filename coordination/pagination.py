"""Pagination of list pages with a bounded page number."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_sqlalchemy.pagination import Pagination

from coordination.extensions import db

#: No list has this many pages; larger numbers (which would overflow SQL offsets) are clamped.
MAX_PAGE = 10_000


def paginate(query: sa.Select, per_page: int) -> Pagination:
    """Paginate ``query`` with ``?page=N`` from the request; bad or huge values are clamped."""
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), MAX_PAGE)
    return db.paginate(query, page=page, per_page=per_page, max_per_page=per_page, error_out=False)
