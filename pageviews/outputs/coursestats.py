"""What a course's summary shows, gathered from its rows in the rendering pass.

Per row it only counts the UTC hour (the timestamp's first 13 characters) and the
URL; hours are turned into local days and weekday-by-hour cells once per distinct
hour, so the cost per record stays a dictionary update or two. Zones whose offset
is not whole hours shift at most part of an hour into its neighbour.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

_PLACE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://[^/?#]*)?(/[^?#]*)", re.IGNORECASE)
#: Canvas's path words and how a person names one of them.
_SINGULAR = {
    "assignments": "assignment", "quizzes": "quiz", "discussion_topics": "discussion",
    "pages": "page", "files": "file", "modules": "module", "announcements": "announcement",
    "grades": "grades", "users": "user", "external_tools": "tool", "wiki": "page",
    "conversations": "conversation", "outcomes": "outcome", "rubrics": "rubric",
    "collaborations": "collaboration", "conferences": "conference", "items": "item",
}  # fmt: skip


def page_name(url: str) -> str:
    """A readable name for a course URL: ``/courses/1693/assignments/55`` is "assignment 55"."""
    match = _PLACE.match(url)
    parts = [p for p in (match.group(1) if match else url).split("/") if p]
    if parts[:2] == ["api", "v1"]:
        parts = parts[2:]
    if len(parts) >= 2 and parts[0] == "courses":
        parts = parts[2:]
    if not parts:
        return "course home"
    words, i = [], 0
    while i < len(parts):
        part, following = parts[i], parts[i + 1] if i + 1 < len(parts) else None
        if part in _SINGULAR and following is not None and following not in _SINGULAR:
            words.append(f"{_SINGULAR[part]} {following}")
            i += 2
        else:
            words.append(part.replace("_", " "))
            i += 1
    return " ".join(words)


def page_labels(urls: Sequence[str]) -> list[str]:
    """Each URL's :func:`page_name`, told apart where two of them share one.

    Pages of one name get what differs between them: "API", the query, the host;
    pages still alike (another fragment) also get their place in the list: (1), (3).
    """
    names = [page_name(url) for url in urls]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    labels = list(names)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        traits = [_traits(urls[i]) for i in members]
        differ = [k for k in range(3) if len({t[k] for t in traits}) > 1]
        told = [", ".join(t[k] for k in differ if t[k]) for t in traits]
        seen = Counter(told)
        told = [
            (f"{extra}, {n}" if extra else str(n)) if seen[extra] > 1 else extra
            for n, extra in enumerate(told, 1)
        ]
        for i, extra in zip(members, told, strict=True):
            labels[i] = f"{name} ({extra})" if extra else name
    return labels


def _traits(url: str) -> tuple[str, str, str]:
    """What may tell two pages of one name apart: API or not, the query, the host."""
    parts = urlsplit(url)
    api = "API" if parts.path.startswith("/api/") else ""
    return api, f"?{parts.query}" if parts.query else "", parts.netloc


@dataclass(slots=True)
class CourseStats:
    """Counts for the charts: by UTC hour, by URL, per user; fed chunk by chunk."""

    hours: Counter[str] = field(default_factory=Counter)
    urls: Counter[str] = field(default_factory=Counter)
    url_users: Counter[str] = field(default_factory=Counter)
    views_per_user: dict[int, int] = field(default_factory=dict)
    _user_urls: set[str] = field(default_factory=set)
    _user_views: int = 0

    def chunk(self, rows: Sequence[Sequence[Any]]) -> None:
        """Count a chunk of one user's rows (course, created, id, url, seconds)."""
        self.hours.update([r[1][:13] for r in rows])
        urls = [r[3] for r in rows]
        self.urls.update(urls)
        self._user_urls.update(urls)
        self._user_views += len(rows)

    def end_user(self, user_id: int) -> None:
        """Close a user: their views (0 for an inactive user) and their distinct pages."""
        self.views_per_user[user_id] = self._user_views
        self.url_users.update(self._user_urls)
        self._user_urls, self._user_views = set(), 0

    @property
    def total(self) -> int:
        """Every view counted."""
        return sum(self.views_per_user.values())

    def local_hours(self, zone: tzinfo) -> Counter[datetime]:
        """Views by the local start of their hour."""
        local: Counter[datetime] = Counter()
        for hour, n in self.hours.items():
            moment = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC)
            local[moment.astimezone(zone)] += n
        return local

    def per_day(self, zone: tzinfo, first: date, last: date) -> list[tuple[date, int]]:
        """Views per local day from ``first`` through ``last`` (zero days included)."""
        days: Counter[date] = Counter()
        for moment, n in self.local_hours(zone).items():
            days[moment.date()] += n
        span = (last - first).days + 1
        return [(d, days[d]) for d in (first + timedelta(days=i) for i in range(span))]

    def week_hours(self, zone: tzinfo) -> list[list[int]]:
        """Views by local weekday (Monday first) and hour."""
        grid = [[0] * 24 for _ in range(7)]
        for moment, n in self.local_hours(zone).items():
            grid[moment.weekday()][moment.hour] += n
        return grid
