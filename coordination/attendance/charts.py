"""Server-side SVG charts for the statistics page (no JavaScript, no inline styles).

Charts are built with ElementTree, so the markup is well-formed and every text is escaped.
Colours come from CSS classes in ``app.css``; presentation attributes (``fill=``) are the
fallback when the SVG is seen without the stylesheet.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup

from coordination.attendance.services import MeetingStats, OrganizationStats
from coordination.timeutil import utc_to_local

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 720

PRESENT_FILL = "#0b5c75"
REGISTERED_FILL = "#c9dde6"
ORGANIZATION_FILL = "#b34700"
GRID_STROKE = "#cfd6dd"
TEXT_FILL = "#1b1f24"

#: At most this many organisations are drawn; the table below lists all of them.
MAX_ORGANIZATION_BARS = 25

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str, limit: int = 200) -> str:
    """Text that XML can hold, shortened for a label or tooltip."""
    value = _CONTROL.sub("", str(value))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(
    prefix: str, height: float, title: str, description: str, *, scales: bool = True
) -> ET.Element:
    """The root element. ``scales``: drawn in a fixed coordinate system that grows and shrinks
    with the page; otherwise full width at a fixed height, with bars sized in percent (the
    text keeps its size on phones)."""
    attributes = {
        "xmlns": SVG_NS,
        "class": "chart-svg" if scales else "chart-svg chart-svg-fluid",
        "role": "img",
        "aria-labelledby": f"{prefix}-title {prefix}-desc",
        "focusable": "false",
    }
    if scales:
        attributes["viewBox"] = f"0 0 {WIDTH} {_number(height)}"
    else:
        attributes.update(width="100%", height=_number(height))
    svg = ET.Element("svg", attributes)
    ET.SubElement(svg, "title", {"id": f"{prefix}-title"}).text = _text(title)
    ET.SubElement(svg, "desc", {"id": f"{prefix}-desc"}).text = _text(description, 1000)
    return svg


def _markup(svg: ET.Element) -> Markup:
    # ElementTree escapes every text and attribute value, so the result is safe to embed.
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: object) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {key.rstrip("_").replace("_", "-"): str(v) for key, v in attributes.items()}
    )
    if text is not None:
        element.text = _text(text)
    return element


def nice_ceiling(value: int, max_ticks: int = 6) -> tuple[int, int]:
    """An axis maximum ≥ ``value`` and a round tick step giving at most ``max_ticks`` steps."""
    value = max(value, 1)
    magnitude = 10 ** max(0, int(math.log10(value)) - 1)
    for factor in (1, 2, 5, 10, 20, 25, 50, 100):
        step = factor * magnitude
        if math.ceil(value / step) <= max_ticks:
            return math.ceil(value / step) * step, step
    step = 10 ** math.ceil(math.log10(value))
    return math.ceil(value / step) * step, step


def meetings_chart(stats: Sequence[MeetingStats]) -> Markup:
    """Bars per meeting over time: registered (light) behind present (dark)."""
    height, left, right, top, bottom = 320, 44, 12, 16, 72
    plot_width = WIDTH - left - right
    plot_height = height - top - bottom
    peak, step = nice_ceiling(max((max(s.present, s.registered) for s in stats), default=1))
    svg = _svg(
        "chart-meetings",
        height,
        _("Attendance per meeting"),
        _(
            "Bar chart of %(num)d meetings: people present (dark bars) and registered "
            "(light bars). The numbers are in the table below.",
            num=len(stats),
        ),
    )

    def y(value: float) -> float:
        return top + plot_height - plot_height * value / peak

    axis = _add(svg, "g", class_="chart-axis")
    for tick in range(0, peak + 1, step):
        _add(
            axis, "line", class_="chart-grid", x1=left, x2=WIDTH - right,
            y1=_number(y(tick)), y2=_number(y(tick)), stroke=GRID_STROKE,
        )  # fmt: skip
        _add(
            axis, "text", str(tick), class_="chart-label", x=left - 6, y=_number(y(tick) + 4),
            text_anchor="end", fill=TEXT_FILL,
        )  # fmt: skip
    if not stats:
        return _markup(svg)

    band = plot_width / len(stats)
    label_every = math.ceil(len(stats) / 16)
    show_values = len(stats) <= 24
    for index, item in enumerate(stats):
        x = left + index * band
        day = format_date(utc_to_local(item.starts_at).date(), "short")
        group = _add(svg, "g", class_="chart-item")
        _add(
            group,
            "title",
            _(
                "%(date)s, %(title)s: %(present)d present, %(registered)d registered",
                date=day,
                title=item.title,
                present=item.present,
                registered=item.registered,
            ),
        )
        _add(
            group, "rect", class_="chart-bar-registered", x=_number(x + band * 0.1),
            y=_number(y(item.registered)), width=_number(band * 0.8),
            height=_number(y(0) - y(item.registered)), fill=REGISTERED_FILL,
        )  # fmt: skip
        _add(
            group, "rect", class_="chart-bar-present", x=_number(x + band * 0.25),
            y=_number(y(item.present)), width=_number(band * 0.5),
            height=_number(y(0) - y(item.present)), fill=PRESENT_FILL,
        )  # fmt: skip
        center = x + band / 2
        if show_values:
            _add(
                group, "text", str(item.present), class_="chart-value", x=_number(center),
                y=_number(y(item.present) - 4), text_anchor="middle", fill=TEXT_FILL,
            )  # fmt: skip
        if index % label_every == 0:
            label_y = top + plot_height + 14
            _add(
                group, "text", day, class_="chart-label", x=_number(center), y=label_y,
                text_anchor="end", fill=TEXT_FILL,
                transform=f"rotate(-45 {_number(center)} {label_y})",
            )  # fmt: skip
    _add(
        svg, "line", class_="chart-baseline", x1=left, x2=WIDTH - right,
        y1=_number(y(0)), y2=_number(y(0)), stroke=TEXT_FILL,
    )  # fmt: skip
    return _markup(svg)


def organizations_chart(stats: Sequence[OrganizationStats]) -> Markup:
    """Horizontal bars: at how many meetings each organisation was represented."""
    shown = list(stats[:MAX_ORGANIZATION_BARS])
    row, top = 38, 4
    height = top * 2 + row * max(len(shown), 1)
    svg = _svg(
        "chart-organizations",
        height,
        _("Organisations represented"),
        _(
            "Bar chart: the number of meetings at which each of %(num)d organisations was "
            "represented. The numbers are in the table below.",
            num=len(stats),
        ),
        scales=False,
    )
    peak = max((item.meetings for item in shown), default=1) or 1
    for index, item in enumerate(shown):
        y = top + index * row
        group = _add(svg, "g", class_="chart-item")
        _add(
            group,
            "title",
            _(
                "%(name)s: %(meetings)d meetings, %(attendances)d attendances",
                name=item.name,
                meetings=item.meetings,
                attendances=item.attendances,
            ),
        )
        label = _add(group, "text", _text(item.name, 60) + " ", class_="chart-label", x=0, y=y + 14)
        label.set("fill", TEXT_FILL)
        _add(label, "tspan", str(item.meetings), class_="chart-value")
        _add(
            group, "rect", class_="chart-bar-organization", x=0, y=y + 20,
            width=f"{_number(max(100 * item.meetings / peak, 0.5))}%", height=12,
            fill=ORGANIZATION_FILL,
        )  # fmt: skip
    return _markup(svg)
