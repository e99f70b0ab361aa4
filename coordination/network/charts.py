"""The network matrix as server-side SVG: organisations × working groups, projects, meetings.

Built like the statistics charts (:mod:`coordination.attendance.charts`): ElementTree escapes
every text, colours come from CSS classes with presentation attributes as the fallback, and
the page shows the same facts in a table below.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask_babel import gettext as _
from markupsafe import Markup

from coordination.attendance.charts import SVG_NS, _add, _markup, _number, _text
from coordination.network.services import OrganizationRow, Overview
from coordination.projects.models import PartnerRole

#: At most this many organisations are drawn; the table below lists all of them.
MAX_ROWS = 60

CELL = 26
LABEL_WIDTH = 230
HEADER_HEIGHT = 170
SECTION_HEIGHT = 22
GAP = 14
BAR_WIDTH = 150
MARGIN = 8
#: Roughly the width of one character of a bold 13px caption.
CAPTION_CHAR_WIDTH = 8

GROUP_FILL = "#0b5c75"
PROJECT_FILL = "#b34700"
BAR_FILL = "#1e6b34"
STRIPE_FILL = "#f3f5f7"
GRID_STROKE = "#cfd6dd"
TEXT_FILL = "#1b1f24"


def _radius(members: int) -> float:
    """A bigger dot for more of the organisation's people in the group (1, 2, 3 or more)."""
    return {1: 5.0, 2: 7.0}.get(members, 9.0)


def _section_width(columns: int, caption: str) -> float:
    """Room for a section's columns, at least as wide as its caption, plus the gap after it."""
    if not columns:
        return 0
    return max(columns * CELL, len(caption) * CAPTION_CHAR_WIDTH) + GAP


def _column_label(parent: ET.Element, x: float, text: str, class_: str) -> None:
    """A column label written upwards at 60°, starting just above the grid."""
    y = HEADER_HEIGHT - 6
    if len(text) > 28:  # the full name as a tooltip
        parent = _add(parent, "g")
        _add(parent, "title", text)
    _add(
        parent, "text", _text(text, 28), class_=class_, x=_number(x), y=y, fill=TEXT_FILL,
        transform=f"rotate(-60 {_number(x)} {y})",
    )  # fmt: skip


def network_matrix(overview: Overview) -> Markup:
    """Rows: organisations; columns: working groups (dots, bigger for more people), projects
    (filled square: lead, outlined: partner) and a bar of meetings attended in the period."""
    rows: list[OrganizationRow] = overview.rows[:MAX_ROWS]
    groups_caption, projects_caption = _("Working groups"), _("Projects")
    group_x = LABEL_WIDTH
    project_x = group_x + _section_width(len(overview.groups), groups_caption)
    bar_x = project_x + _section_width(len(overview.projects), projects_caption)
    width = bar_x + BAR_WIDTH + MARGIN
    top = SECTION_HEIGHT + HEADER_HEIGHT
    height = top + CELL * max(len(rows), 1) + MARGIN
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": "network-matrix-svg",
            "role": "img",
            "aria-labelledby": "network-matrix-title network-matrix-desc",
            "focusable": "false",
            "width": _number(width),
            "height": _number(height),
            "viewBox": f"0 0 {_number(width)} {_number(height)}",
        },
    )
    ET.SubElement(svg, "title", {"id": "network-matrix-title"}).text = _("Who takes part where")
    ET.SubElement(svg, "desc", {"id": "network-matrix-desc"}).text = _text(
        _(
            "Matrix of %(orgs)d organisations against %(groups)d working groups and "
            "%(projects)d projects, with the number of meetings each organisation attended. "
            "The same facts are in the table below.",
            orgs=len(rows),
            groups=len(overview.groups),
            projects=len(overview.projects),
        ),
        1000,
    )

    # Section captions and column labels.
    heads = _add(svg, "g", class_="network-heads")
    if overview.groups:
        _add(heads, "text", groups_caption, class_="network-section", x=group_x, y=14,
             fill=TEXT_FILL)  # fmt: skip
    if overview.projects:
        _add(heads, "text", projects_caption, class_="network-section", x=project_x, y=14,
             fill=TEXT_FILL)  # fmt: skip
    _add(heads, "text", _("Meetings"), class_="network-section", x=bar_x, y=14, fill=TEXT_FILL)
    labels = _add(svg, "g", class_="network-labels", transform=f"translate(0 {SECTION_HEIGHT})")
    for index, group in enumerate(overview.groups):
        _column_label(labels, group_x + index * CELL + CELL / 2, group.name, "network-label")
    for index, project in enumerate(overview.projects):
        _column_label(labels, project_x + index * CELL + CELL / 2, project.name, "network-label")

    peak = max((row.meetings for row in rows), default=0) or 1
    for index, row in enumerate(rows):
        y = top + index * CELL
        name = row.organization.name
        line = _add(svg, "g", class_="network-row")
        if index % 2 == 0:
            _add(line, "rect", class_="network-stripe", x=0, y=y, width=_number(width), height=CELL,
                 fill=STRIPE_FILL)  # fmt: skip
        holder = line
        if len(name) > 32:  # the full name as a tooltip
            holder = _add(line, "g")
            _add(holder, "title", name)
        _add(holder, "text", _text(name, 32), class_="network-label", x=4,
             y=_number(y + CELL * 0.68), fill=TEXT_FILL)  # fmt: skip
        for column, group in enumerate(overview.groups):
            cx = group_x + column * CELL + CELL / 2
            members = row.groups.get(group.id)
            if not members:
                _add(line, "circle", class_="network-empty", cx=_number(cx),
                     cy=_number(y + CELL / 2), r=1.5, fill=GRID_STROKE)  # fmt: skip
                continue
            dot = _add(line, "circle", class_="network-group-dot", cx=_number(cx),
                       cy=_number(y + CELL / 2), r=_number(_radius(members)),
                       fill=GROUP_FILL)  # fmt: skip
            _add(dot, "title", _("%(organisation)s in %(group)s: %(num)d people",
                                 organisation=name, group=group.name, num=members))  # fmt: skip
        for column, project in enumerate(overview.projects):
            x = project_x + column * CELL + CELL / 2
            role = row.projects.get(project.id)
            if role is None:
                _add(line, "circle", class_="network-empty", cx=_number(x),
                     cy=_number(y + CELL / 2), r=1.5, fill=GRID_STROKE)  # fmt: skip
                continue
            is_lead = role is PartnerRole.LEAD
            square = _add(
                line, "rect",
                class_="network-project-lead" if is_lead else "network-project-partner",
                x=_number(x - 7), y=_number(y + CELL / 2 - 7), width=14, height=14,
                fill=PROJECT_FILL if is_lead else "#ffffff", stroke=PROJECT_FILL, stroke_width=2,
            )  # fmt: skip
            _add(
                square,
                "title",
                _("%(organisation)s leads %(project)s", organisation=name, project=project.name)
                if is_lead
                else _(
                    "%(organisation)s is a partner in %(project)s",
                    organisation=name,
                    project=project.name,
                ),
            )
        if row.meetings:
            bar = _add(line, "rect", class_="network-meeting-bar", x=bar_x,
                       y=_number(y + CELL / 2 - 5), height=10,
                       width=_number(max((BAR_WIDTH - 40) * row.meetings / peak, 2)),
                       fill=BAR_FILL)  # fmt: skip
            _add(bar, "title", _("%(organisation)s: present at %(num)d meetings",
                                 organisation=name, num=row.meetings))  # fmt: skip
        _add(line, "text", str(row.meetings), class_="network-value",
             x=_number(bar_x + max((BAR_WIDTH - 40) * row.meetings / peak, 2) + 4),
             y=_number(y + CELL * 0.68), fill=TEXT_FILL)  # fmt: skip
    return _markup(svg)
