"""Static SVG charts, pure functions from numbers to markup: no scripts, no network.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its
text alternative), and carries its numbers as text or ``data-value`` so it reads
without colour: bars are labelled, heat-map cells print their counts, and the
highlighted bar is hatched as well as darker.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import count

_ids = count(1)
_INK, _BAR, _MARK, _FAINT = "#1a1a1a", "#3b6ea5", "#b5403a", "#f2f2f2"
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _open(kind: str, width: int, height: int, title: str, desc: str) -> str:
    n = next(_ids)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="t{n} d{n}" {_FONT}>'
        f'<title id="t{n}">{escape(title)}</title><desc id="d{n}">{escape(desc)}</desc>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def columns(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    desc: str,
    marks: Sequence[tuple[int, str]] = (),
    width: int = 760,
    height: int = 220,
) -> str:
    """Vertical bars (e.g. views per day); ``marks`` draw labelled lines before bar i."""
    left, right, bottom, top = 44, 36, 36, 18
    plot_w, plot_h = width - left - right, height - bottom - top
    peak = max((v for _, v in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    parts = [_open("columns", width, height, title, desc)]
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                 f'y2="{top + plot_h}" stroke="{_INK}"/>')  # fmt: skip
    parts.append(_text(left - 4, top + 8, f"{peak:,}", "end"))
    parts.append(_text(left - 4, top + plot_h, "0", "end"))
    label_every = max(1, len(points) // 8)
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{h:.1f}" fill="{_BAR}" '
            f'data-label="{escape(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(_text(x + step / 2, height - bottom + 14, label, "middle"))
    for index, label in marks:
        x = left + index * step
        parts.append(
            f'<line class="mark" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}" '
            f'stroke="{_MARK}" stroke-width="2" stroke-dasharray="5 3"/>'
        )
        at_end = index >= len(points)
        parts.append(
            _text(x - 3 if at_end else x + 3, top + 6, label, "end" if at_end else "start",
                  f' fill="{_MARK}"')
        )  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def bars(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    desc: str,
    width: int = 560,
    row: int = 22,
    highlight: int | None = None,
) -> str:
    """Horizontal labelled bars, one per item; item ``highlight`` is also hatched."""
    label_w, value_w = 220, 60
    height = row * max(len(items), 1) + 8
    peak = max((v for _, v in items), default=0) or 1
    parts = [_open("bars", width, height, title, desc)]
    parts.append(
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{_MARK}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>'
    )
    plot_w = width - label_w - value_w
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = plot_w * value / peak
        fill = "url(#hatch)" if i == highlight else _BAR
        parts.append(_text(label_w - 6, y + row * 0.65, _clip(label, 34), "end"))
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" '
            f'height="{row - 6}" fill="{fill}" data-label="{escape(label)}" '
            f'data-value="{value}"><title>{escape(label)}: {value:,}</title></rect>'
        )
        parts.append(_text(label_w + w + 4, y + row * 0.65, f"{value:,}"))
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: Sequence[Sequence[int]],
    *,
    title: str,
    desc: str,
    cell: int = 28,
) -> str:
    """A grid of counts, darker for more (least to most), each cell printing its number."""
    left, top = 40, 18
    width, height = left + cell * len(cols) + 4, top + cell * len(rows) + 4
    flat = [v for line in values for v in line]
    # Shades span the grid's own least to most, so an even week still shows its shape;
    # the printed counts carry the absolute numbers.
    low, peak = min(flat, default=0), max(flat, default=0)
    spread = (peak - low) or 1
    parts = [_open("heatmap", width, height, title, desc)]
    for j, name in enumerate(cols):
        parts.append(_text(left + j * cell + cell / 2, top - 5, name, "middle"))
    for i, name in enumerate(rows):
        y = top + i * cell
        parts.append(_text(left - 5, y + cell * 0.62, name, "end"))
        for j, value in enumerate(values[i]):
            shade = (value - low) / spread
            light = round(245 - 190 * shade)
            ink = "#fff" if shade > 0.55 else _INK
            parts.append(
                f'<rect class="cell" x="{left + j * cell}" y="{y}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="rgb({light},{light},{min(255, light + 25)})" '
                f'data-value="{value}"><title>{escape(name)} {escape(cols[j])}: {value:,}'
                "</title></rect>"
            )
            if value:
                parts.append(
                    _text(
                        left + j * cell + cell / 2, y + cell * 0.62, _short(value), "middle",
                        f' fill="{ink}" font-size="9"',
                    )
                )  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[int], *, title: str, width: int = 160, height: int = 32) -> str:
    """A small line of values with its total as the text alternative."""
    peak = max(values, default=0) or 1
    step = (width - 4) / max(len(values) - 1, 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (height - 4) * v / peak:.1f}"
        for i, v in enumerate(values)
    )
    return (
        _open("sparkline", width, height, title, f"{sum(values):,} in total, peak {peak:,}")
        + f'<polyline points="{points}" fill="none" stroke="{_BAR}" stroke-width="1.5"/></svg>'
    )


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _short(value: int) -> str:
    return f"{value / 1000:.0f}k" if value >= 10_000 else str(value)
