"""``summary_<course>_<range>.html``: a course at a glance, one self-contained file.

Inline SVG from :mod:`.svgcharts` and a little CSS: no scripts, no fonts or
images from the network. Every figure a test or a reader checks carries a
``data-stat`` attribute with its plain number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from html import escape
from pathlib import Path

from ..notes import CourseNotes, DaySpan
from .atomic import write_atomic
from .coursestats import CourseStats, page_labels
from .reportmeta import SUMMARY_KIND, ReportMeta
from .svgcharts import bars, columns, heatmap

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Views-per-user bins: (label, lowest, highest); the first is the inactive users.
BINS = (("0 (inactive)", 0, 0), ("1-9", 1, 9), ("10-49", 10, 49), ("50-99", 50, 99),
        ("100-249", 100, 249), ("250-499", 250, 499), ("500-999", 500, 999),
        ("1000+", 1000, None))  # fmt: skip
TOP = 10
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:62rem;color:#1a1a1a;
padding:0 1rem;line-height:1.4}h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.1rem;margin-top:2rem}dl.stats{display:grid;
grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem}
dl.stats div{border:1px solid #ccc;padding:.4rem .6rem}dt{font-size:.85rem}
dd{margin:0;font-size:1.3rem;font-weight:600}.warn{border-left:4px solid #b5403a;
padding-left:.6rem}svg{max-width:100%;height:auto}td,th{text-align:left;padding:0 .6rem 0 0}
"""


@dataclass(slots=True)
class SummaryInput:
    """What the summary of one course shows besides its counts."""

    meta: ReportMeta
    zone: tzinfo
    first_day: datetime
    last_day: datetime
    harvested_at: str
    course_name: str = ""
    roster: int = 0
    inactive: list[tuple[int, str]] = field(default_factory=list)
    missing: Sequence[tuple[int, str]] = ()
    incomplete: Sequence[tuple[int, str]] = ()
    notes: CourseNotes = field(default_factory=CourseNotes)  # warnings and days' sources


def write_summary(out_dir: Path, info: SummaryInput, stats: CourseStats) -> Path:
    """Write the summary whole (a temporary name, then renamed into place)."""
    path = info.meta.path(out_dir, SUMMARY_KIND, "html")
    return write_atomic(path, summary_html(info, stats).encode())


def _sources(days: Sequence[DaySpan]) -> str:
    """Where each day's views came from: a row per run of days read the same way."""
    if not days:
        return ""
    rows = "".join(
        f'<tr data-source="{escape(d.source)}"><td>{d.first.isoformat()}</td>'
        f"<td>{d.last.isoformat()}</td><td>{escape(d.source)}</td>"
        f"<td>{'' if d.views is None else f'{d.views:,}'}</td></tr>"
        for d in days
    )
    return (
        '<h3>Where the views came from</h3><table aria-label="Sources by day"><thead><tr>'
        "<th>From</th><th>To</th><th>Read from</th><th>Page views</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _stat(key: str, label: str, value: int) -> str:
    return f'<div><dt>{label}</dt><dd data-stat="{key}" data-value="{value}">{value:,}</dd></div>'


def summary_html(info: SummaryInput, stats: CourseStats) -> str:
    """The whole page."""
    meta = info.meta
    title = f"Course {meta.course_id}" + (f": {info.course_name}" if info.course_name else "")
    selection = meta.selection or {}
    chosen = "; ".join(
        f"{k.replace('_', ' ')}: {', '.join(v) if v else 'all'}" for k, v in selection.items()
    )
    total, users_with_views = stats.total, sum(1 for v in stats.views_per_user.values() if v)
    days = stats.per_day(info.zone, info.first_day.date(), info.last_day.date())
    day_chart = columns(
        [(d.isoformat(), n) for d, n in days],
        title="Page views per day",
        desc=f"{total:,} page views over {len(days)} days from {days[0][0]} to {days[-1][0]}"
        f" ({info.zone}); the busiest day had {max(n for _, n in days):,}.",
        marks=[(0, "range starts"), (len(days), "range ends")],
    )
    grid = stats.week_hours(info.zone)
    busiest = max(
        ((WEEKDAYS[d], h, grid[d][h]) for d in range(7) for h in range(24)), key=lambda c: c[2]
    )
    heat = heatmap(
        WEEKDAYS,
        [f"{h:02d}" for h in range(24)],
        grid,
        title=f"Page views by weekday and hour ({info.zone})",
        desc=f"Busiest hour: {busiest[0]} {busiest[1]:02d}:00 with {busiest[2]:,} views.",
    )
    by_views, by_users = _labelled(_top(stats.urls)), _labelled(_top(stats.url_users))
    counts = list(stats.views_per_user.values())
    histogram = [
        (label, sum(1 for c in counts if c >= lo and (hi is None or c <= hi)))
        for label, lo, hi in BINS
    ]
    problems = []
    if info.missing:
        problems.append(f"{len(info.missing)} users are gone from Canvas (404): no views read.")
    if info.incomplete:
        problems.append(
            f"{len(info.incomplete)} users could not be read completely and are left out: "
            + ", ".join(f"{u}" for u, _ in info.incomplete[:20])
        )
    # Only days not read, or read where views may be missing, draw a warning.
    problems += [warning[0].upper() + warning[1:] + "." for warning in info.notes.warnings]
    completeness = (
        "".join(f'<p class="warn" data-stat="problem">{escape(p)}</p>' for p in problems)
        or '<p data-stat="complete">Every user of the roster was read completely.</p>'
    )
    inactive_rows = "".join(
        f"<tr><td>{u}</td><td>{escape(n)}</td></tr>" for u, n in info.inactive[:200]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}: page views {escape(meta.label)}</title><style>{STYLE}</style></head>
<body><header><h1>{escape(title)}</h1>
<p>Page views from <time>{escape(meta.start_time)}</time> to <time>{escape(meta.end_time)}
</time> ({escape(str(info.zone))}); {escape(chosen)}. Harvested {escape(info.harvested_at)}.</p>
<dl class="stats">{_stat("views", "Page views", total)}{_stat("roster", "Users in the roster", info.roster)}
{_stat("active", "Users with views", users_with_views)}{_stat("inactive", "Users without views", len(info.inactive))}
{_stat("pages", "Distinct pages", len(stats.urls))}{_stat("missing", "Users gone (404)", len(info.missing))}
{_stat("incomplete", "Users read in part", len(info.incomplete))}</dl>
<section aria-label="Completeness">{completeness}</section></header>
<main><h2>Page views per day</h2>{day_chart}
{_sources(info.notes.days)}
<h2>When: weekday and hour</h2>{heat}
<h2>Top pages by views</h2>{bars(by_views, title="Top pages by views", desc=_listing(by_views))}
<h2>Top pages by distinct users</h2>{bars(by_users, title="Top pages by distinct users", desc=_listing(by_users))}
<h2>Views per user</h2>{bars(histogram, title="Users by their number of page views", desc=_listing(histogram) + "; the first bar (hatched) is the users without views.", highlight=0)}
<h2>Users without views ({len(info.inactive):,})</h2>
<table><thead><tr><th>User ID</th><th>Name</th></tr></thead><tbody>{inactive_rows}</tbody></table>
{"<p>… and more: see the inactive-users report.</p>" if len(info.inactive) > 200 else ""}
</main></body></html>
"""  # noqa: E501


def _labelled(top: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    labels = page_labels([url for url, _ in top])
    return [(label, n) for label, (_, n) in zip(labels, top, strict=True)]


def _top(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def _listing(items: Sequence[tuple[str, int]]) -> str:
    return "; ".join(f"{label}: {n:,}" for label, n in items) or "none"
