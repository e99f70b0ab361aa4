"""Search across the network's content, with the same answers on SQLite and PostgreSQL.

Matching: the searched text and the query are *folded* alike: Ä/ä → ae, Ö/ö → oe, Ü/ü → ue,
ẞ/ß → ss (also when written with a combining diaeresis), then only the letters A–Z are lowered.
So "Müller", "mueller" and "MÜLLER" find each other and "strasse" finds "Straße". SQLite's
``lower()`` knows only ASCII; on PostgreSQL ``lower()`` runs under ``COLLATE "C"``, which also
lowers only ASCII: both databases agree with :func:`fold`. Every word of the query (at most
:data:`MAX_TERMS`, each at least :data:`MIN_TERM_CHARS` long) must occur somewhere in a hit's
searched fields; ``%``, ``_`` and ``\\`` in the query match themselves.

Visibility is that of the pages: meetings through ``visible_meetings_clause``, problems,
solutions and actions only in groups the user may read, projects and organisations for members.
Visitors search public meetings only. One query per kind, whatever the number of hits.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager, raiseload
from sqlalchemy.sql.functions import FunctionElement

from coordination.actions.models import Action
from coordination.extensions import db
from coordination.groups.services import readable_group_ids_subquery
from coordination.meetings.models import Meeting
from coordination.meetings.permissions import visible_meetings_clause
from coordination.organizations.models import Organization
from coordination.problems.models import GroupIssue, Solution
from coordination.projects.models import Project
from coordination.text import render_markdown

#: The kinds of hits, in the order the result page shows them.
KINDS = ("meetings", "problems", "solutions", "actions", "projects", "organizations")
#: What visitors without an account may search (public meetings only).
VISITOR_KINDS = ("meetings",)

#: Longer queries are cut; so are longer words. Shorter words are left out.
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 50

#: Snippets: how much text they show, and how far into a long text they look for a match.
SNIPPET_CHARS = 180
SNIPPET_SOURCE_CHARS = 20_000

_DIAERESIS = "\u0308"

#: Replacements applied, in this order, before lowering A–Z (in Python and in SQL alike).
FOLDS: tuple[tuple[str, str], ...] = (
    ("Ä", "ae"),
    ("ä", "ae"),
    ("Ö", "oe"),
    ("ö", "oe"),
    ("Ü", "ue"),
    ("ü", "ue"),
    ("ẞ", "ss"),
    ("ß", "ss"),
    ("A" + _DIAERESIS, "ae"),
    ("a" + _DIAERESIS, "ae"),
    ("O" + _DIAERESIS, "oe"),
    ("o" + _DIAERESIS, "oe"),
    ("U" + _DIAERESIS, "ue"),
    ("u" + _DIAERESIS, "ue"),
)
_SINGLE = {old: new for old, new in FOLDS if len(old) == 1}
_BEFORE_DIAERESIS = {old[0]: new for old, new in FOLDS if len(old) == 2}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(text: str) -> str:
    """``"MÜLLER, Straße"`` → ``"mueller, strasse"``; other letters keep their case."""
    for old, new in FOLDS:
        text = text.replace(old, new)
    return text.translate(_ASCII_LOWER)


class Fold(FunctionElement[str]):
    """SQL for :func:`fold` of a text expression, compiled for the database in use."""

    type = sa.String()
    name = "fold"
    inherit_cache = True


def _replaced(element: Fold) -> sa.ColumnElement[str]:
    (expression,) = element.clauses
    for old, new in FOLDS:
        # Constants of this module, without quotes: safe to write into the statement.
        expression = sa.func.replace(
            expression, sa.literal_column(f"'{old}'"), sa.literal_column(f"'{new}'")
        )
    return expression


@compiles(Fold)
def _compile_fold(element: Fold, compiler: Any, **kw: Any) -> str:
    # SQLite's lower() changes only A–Z.
    return compiler.process(sa.func.lower(_replaced(element)), **kw)


@compiles(Fold, "postgresql")
def _compile_fold_postgresql(element: Fold, compiler: Any, **kw: Any) -> str:
    # Under the "C" collation PostgreSQL's lower() changes only A–Z too.
    return compiler.process(sa.func.lower(sa.collate(_replaced(element), "C")), **kw)


# --- the query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """What was asked (trimmed, for the search field) and the folded words to look for."""

    text: str
    terms: tuple[str, ...]


def parse_query(raw: str | None) -> SearchQuery:
    """Cut, normalise and split the query; words shorter than two characters are left out."""
    text = unicodedata.normalize("NFC", (raw or "")[: MAX_QUERY_CHARS * 4])
    text = " ".join(text.split())[:MAX_QUERY_CHARS].strip()
    terms: list[str] = []
    for word in text.split():
        if len(word) < MIN_TERM_CHARS:
            continue
        term = fold(word[:MAX_TERM_CHARS])
        if term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return SearchQuery(text=text, terms=tuple(terms))


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _joined(*columns: Any) -> sa.ColumnElement[str]:
    """The columns as one text, separated by spaces (no query word contains a space)."""
    text: Any = columns[0]
    for column in columns[1:]:
        text = text + sa.literal_column("' '", sa.String) + column
    return text


def matches_all(text: Any, terms: Sequence[str]) -> sa.ColumnElement[bool]:
    """SQL: the folded ``text`` contains every (folded) term."""
    folded = Fold(text)
    return sa.and_(*(folded.like(_like_pattern(term), escape="\\") for term in terms))


def _title_first(title: Any, terms: Sequence[str]) -> sa.ColumnElement[int]:
    """Sort key: hits whose title holds every word come first."""
    return sa.case((matches_all(title, terms), 0), else_=1)


# --- one query per kind ------------------------------------------------------------------------


def _meetings(user: Any, terms: Sequence[str]) -> sa.Select:
    text = _joined(Meeting.title, Meeting.description, Meeting.venue_name, Meeting.venue_address)
    return (
        sa.select(Meeting)
        .where(visible_meetings_clause(user), matches_all(text, terms))
        .options(raiseload("*"))
        .order_by(_title_first(Meeting.title, terms), Meeting.starts_at.desc(), Meeting.id)
    )


def _problems(user: Any, terms: Sequence[str]) -> sa.Select:
    return (
        sa.select(GroupIssue)
        .join(GroupIssue.group)
        .where(
            GroupIssue.group_id.in_(readable_group_ids_subquery(user)),
            matches_all(_joined(GroupIssue.title, GroupIssue.description), terms),
        )
        .options(contains_eager(GroupIssue.group), raiseload("*"))
        .order_by(
            _title_first(GroupIssue.title, terms), GroupIssue.updated_at.desc(), GroupIssue.id
        )
    )


def _solutions(user: Any, terms: Sequence[str]) -> sa.Select:
    return (
        sa.select(Solution)
        .join(Solution.issue)
        .join(GroupIssue.group)
        .where(
            GroupIssue.group_id.in_(readable_group_ids_subquery(user)),
            matches_all(Solution.text, terms),
        )
        .options(
            contains_eager(Solution.issue).contains_eager(GroupIssue.group),
            raiseload("*"),
        )
        .order_by(Solution.updated_at.desc(), Solution.id)
    )


def _actions(user: Any, terms: Sequence[str]) -> sa.Select:
    return (
        sa.select(Action)
        .join(Action.group)
        .where(
            Action.group_id.in_(readable_group_ids_subquery(user)),
            matches_all(_joined(Action.title, Action.notes), terms),
        )
        .options(contains_eager(Action.group), raiseload("*"))
        .order_by(_title_first(Action.title, terms), Action.updated_at.desc(), Action.id)
    )


def _projects(user: Any, terms: Sequence[str]) -> sa.Select:
    text = _joined(Project.name, Project.summary, Project.description)
    return (
        sa.select(Project)
        .where(matches_all(text, terms))
        .options(raiseload("*"))
        .order_by(_title_first(Project.name, terms), Project.name, Project.id)
    )


def _organizations(user: Any, terms: Sequence[str]) -> sa.Select:
    text = _joined(Organization.name, Organization.district, Organization.description)
    return (
        sa.select(Organization)
        .where(matches_all(text, terms))
        .options(raiseload("*"))
        .order_by(_title_first(Organization.name, terms), Organization.name, Organization.id)
    )


_QUERIES: dict[str, Callable[[Any, Sequence[str]], sa.Select]] = {
    "meetings": _meetings,
    "problems": _problems,
    "solutions": _solutions,
    "actions": _actions,
    "projects": _projects,
    "organizations": _organizations,
}


def kinds_for(user: Any) -> tuple[str, ...]:
    """The kinds ``user`` may search: all for members, public meetings for visitors."""
    if user is None or not user.is_authenticated:
        return VISITOR_KINDS
    return KINDS


@dataclass
class KindResult:
    """One kind's hits on one page, with the number of all hits (works with the pagination macro)."""

    kind: str
    total: int
    items: list[Any] = field(default_factory=list)
    page: int = 1
    per_page: int = 10

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_more(self) -> bool:
        return self.total > len(self.items)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int:
        return self.page + 1


def _fetch(statement: sa.Select, offset: int, limit: int) -> tuple[int, list[Any]]:
    """Hits ``offset`` to ``offset + limit`` and the number of all hits, in one query."""
    rows = db.session.execute(
        statement.add_columns(sa.func.count().over().label("total")).offset(offset).limit(limit)
    ).all()
    return (rows[0].total if rows else 0), [row[0] for row in rows]


def search_kind(
    query: SearchQuery, user: Any, kind: str, *, page: int = 1, per_page: int = 10
) -> KindResult:
    """One page of one kind's hits. A page past the end shows the last one (two more queries)."""
    if kind not in kinds_for(user) or not query.terms:
        return KindResult(kind, 0, page=1, per_page=per_page)
    statement = _QUERIES[kind](user, query.terms)
    page = max(page, 1)
    total, items = _fetch(statement, (page - 1) * per_page, per_page)
    if not items and page > 1:
        total, _first = _fetch(statement, 0, 1)
        page = max(1, ceil(total / per_page))
        if total:
            total, items = _fetch(statement, (page - 1) * per_page, per_page)
    return KindResult(kind, total, items, page=page, per_page=per_page)


def search_all(query: SearchQuery, user: Any, *, limit: int) -> list[KindResult]:
    """The first ``limit`` hits of every kind ``user`` may search, one query per kind."""
    if not query.terms:
        return []
    return [search_kind(query, user, kind, per_page=limit) for kind in kinds_for(user)]


# --- snippets ----------------------------------------------------------------------------------


def _fold_map(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`fold` of ``text``, and for each folded character the original span it comes from."""
    folded: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    while position < len(text):
        char = text[position]
        width = 1
        if text.startswith(_DIAERESIS, position + 1) and char in _BEFORE_DIAERESIS:
            piece, width = _BEFORE_DIAERESIS[char], 2
        else:
            piece = _SINGLE.get(char, char.translate(_ASCII_LOWER))
        for folded_char in piece:
            folded.append(folded_char)
            starts.append(position)
            ends.append(position + width)
        position += width
    return "".join(folded), starts, ends


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the terms occur in ``text`` (original positions), sorted and merged."""
    folded, starts, ends = _fold_map(text)
    spans = []
    for term in terms:
        found = folded.find(term)
        while found != -1:
            spans.append((starts[found], ends[found + len(term) - 1]))
            found = folded.find(term, found + len(term))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> Markup:
    """``text[start:end]`` escaped, with the spans inside it wrapped in ``<mark>``."""
    parts = [Markup("")]
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        parts.append(escape(text[position:span_start]))
        parts.append(Markup("<mark>{}</mark>").format(text[span_start:span_end]))
        position = span_end
    parts.append(escape(text[position:end]))
    return Markup("").join(parts)


def markdown_text(source: str) -> str:
    """The words of a Markdown text as readers see them, without markup (for snippets)."""
    return render_markdown(source[:SNIPPET_SOURCE_CHARS]).striptags()


def _one_line(text: str) -> str:
    return " ".join(text[:SNIPPET_SOURCE_CHARS].split())


def highlight(text: str, terms: Sequence[str]) -> Markup:
    """The whole (short) text, escaped, with the matching words marked."""
    text = _one_line(text)
    return _marked(text, match_spans(text, terms), 0, len(text))


def snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> Markup:
    """About ``width`` characters of ``text`` around its first match, matches marked."""
    text = _one_line(text)
    spans = match_spans(text, terms)
    start = 0
    if spans and spans[0][1] > width:
        start = max(0, spans[0][0] - width // 4)
        space = text.find(" ", start, spans[0][0])
        if space != -1:
            start = space + 1
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        if space != -1:
            end = space
    body = _marked(text, spans, start, end)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return Markup("{}{}{}").format(prefix, body, suffix)


def best_snippet(texts: Iterable[str], terms: Sequence[str]) -> Markup:
    """The snippet of whichever text holds the most query words (the first non-empty if none)."""
    best, best_count = "", -1
    for text in texts:
        if not text:
            continue
        folded = fold(text[:SNIPPET_SOURCE_CHARS])
        count = sum(1 for term in terms if term in folded)
        if count > best_count:
            best, best_count = text, count
    return snippet(best, terms) if best else Markup("")
