"""Inline SVG bar charts for the report: no script, no library, no network, so the file
opens anywhere and a screenshot shows what a reader sees. Every label is escaped (case
names and tags come from case files; nothing here trusts them)."""

from dataclasses import dataclass
from html import escape

LABEL_W, BAR_W, VALUE_W, ROW_H = 180, 300, 110, 22
COLOURS = {"good": "#2e7d32", "bad": "#c62828", "neutral": "#1565c0", "previous": "#9e9e9e"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # the bar's length, against the chart's scale
    text: str  # what is printed after the bar
    colour: str = "neutral"
    previous: float | None = None  # drawn as a thin grey bar under it, for comparison


def bars(plot: str, title: str, rows: list[Bar], scale: float | None = None) -> str:
    """A horizontal bar chart; `scale` is the value of a full bar (default: the largest)."""
    top = max([scale or 0.0, *(r.value for r in rows), *(r.previous or 0 for r in rows)])
    full = top if top > 0 else 1.0
    height = ROW_H * max(len(rows), 1) + 30
    width = LABEL_W + BAR_W + VALUE_W
    parts = [f'<svg class="plot" data-plot="{escape(plot)}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             f'<text x="0" y="14" class="plot-title">{escape(title)}</text>']
    if not rows:
        parts.append('<text x="0" y="40" class="empty">no data</text>')
    for i, row in enumerate(rows):
        parts.append(_row(row, 24 + i * ROW_H, full))
    parts.append("</svg>")
    return "".join(parts)


def _row(row: Bar, y: int, full: float) -> str:
    length = max(row.value / full * BAR_W, 0.0)
    colour = COLOURS.get(row.colour, COLOURS["neutral"])
    out = [f'<g class="bar" data-label="{escape(row.label)}">',
           f'<text x="{LABEL_W - 6}" y="{y + 14}" text-anchor="end">'
           f'{escape(_short(row.label))}</text>',
           f'<rect x="{LABEL_W}" y="{y + 2}" width="{BAR_W}" height="16" fill="#eeeeee"/>',
           f'<rect class="value" x="{LABEL_W}" y="{y + 2}" width="{length:.1f}" height="16" '
           f'fill="{colour}"/>']
    if row.previous is not None:
        before = max(row.previous / full * BAR_W, 0.0)
        out.append(f'<rect class="previous" x="{LABEL_W}" y="{y + 16}" width="{before:.1f}" '
                   f'height="3" fill="{COLOURS["previous"]}"/>')
    out.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 14}">{escape(row.text)}</text></g>')
    return "".join(out)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def rate_colour(rate: float) -> str:
    return "good" if rate >= 1.0 else "bad"
