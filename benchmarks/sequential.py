"""The baseline: a plain aiohttp loop, one request at a time, reports built in memory.

What a careful script would do without pageviews: list the enrollments, then
page through each user's page views, following ``rel="next"`` to the end.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio
import orjson
from yarl import URL

from pageviews.canvas.client import READ_BUFFER
from pageviews.testing import view_course

# Contract §7: without a context, the URL path names the course (169 must not match 1693).

Row = tuple[int, str, str, str, float | None]  # user_id, url, created_at, id, seconds


@dataclass(slots=True)
class SequentialResult:
    """The reports' content and the request count."""

    roster: list[int] = field(default_factory=list)
    user_names: dict[int, str] = field(default_factory=dict)
    records: list[Row] = field(default_factory=list)
    totals: list[tuple[str, int]] = field(default_factory=list)
    user_totals: list[tuple[int, str, int]] = field(default_factory=list)
    requests: int = 0

    def to_json(self) -> bytes:
        """Serialise the report content for the benchmark to compare."""
        return orjson.dumps(
            {
                "roster": self.roster,
                "user_names": {str(k): v for k, v in self.user_names.items()},
                "records": self.records,
                "totals": self.totals,
                "user_totals": self.user_totals,
            }
        )


class SequentialClient:
    """GET one page at a time with a bearer token, following Link rel="next"."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session, self.base_url = session, base_url
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.requests = 0

    async def get(self, url: str) -> tuple[Any, str | None]:
        """Fetch one page; return its JSON and the next page's URL."""
        self.requests += 1
        # encoded=True: send Canvas's bookmark links byte for byte, never re-quoted.
        async with self.session.get(
            URL(url, encoded=True), headers=self.headers, read_bufsize=READ_BUFFER
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url}: HTTP {response.status}")
            link = response.links.get("next")
            return orjson.loads(body), (str(link["url"]) if link else None)

    async def pages(self, url: str) -> list[Any]:
        """Every item of a paginated list."""
        items: list[Any] = []
        next_url: str | None = url
        while next_url is not None:
            data, next_url = await self.get(next_url)
            items.extend(data)
        return items


def page_views_url(base_url: str, user_id: int, start: str, end: str) -> str:
    """The first page of one user's page views in the range."""
    return (
        f"{base_url}/api/v1/users/{user_id}/page_views"
        f"?start_time={start}&end_time={end}&per_page=100"
    )


async def roster(
    client: SequentialClient, course_id: int, states: tuple[str, ...] | None
) -> dict[int, str]:
    """The course's users (each once, without the token's own) and their names."""
    base_url = client.base_url
    me, _ = await client.get(f"{base_url}/api/v1/users/self")
    query = "".join(f"&state[]={s}" for s in states or ())
    enrollments = await client.pages(
        f"{base_url}/api/v1/courses/{course_id}/enrollments?per_page=100{query}"
    )
    names: dict[int, str] = {}
    for enrollment in enrollments:
        user_id = int(enrollment["user_id"])
        if user_id != me["id"] and user_id not in names:
            names[user_id] = str((enrollment.get("user") or {}).get("name") or "")
    return names


async def harvest_sequentially(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    course_id: int,
    start: str,
    end: str,
    states: tuple[str, ...] | None,
) -> SequentialResult:
    """Harvest one course's reports in memory, one request at a time."""
    client = SequentialClient(session, base_url, token)
    await client.get(f"{base_url}/api/v1/courses/{course_id}")
    names = await roster(client, course_id, states)
    seen: set[str] = set()
    records: list[Row] = []
    for user_id in names:
        for view in await client.pages(page_views_url(base_url, user_id, start, end)):
            if view_course(view) != course_id or view["id"] in seen:
                continue
            seen.add(view["id"])
            records.append(
                (user_id, view["url"], view["created_at"], view["id"], view["interaction_seconds"])
            )
    records.sort(key=lambda r: (r[0], r[2], r[3]))
    totals = Counter(r[1] for r in records)
    per_user = Counter((r[0], r[1]) for r in records)
    return SequentialResult(
        roster=sorted(names),
        user_names=names,
        records=records,
        totals=sorted(totals.items(), key=lambda t: (-t[1], t[0])),
        user_totals=sorted(
            ((u, url, n) for (u, url), n in per_user.items()), key=lambda t: (t[0], -t[2], t[1])
        ),
        requests=client.requests,
    )


async def fetch_only(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    course_id: int,
    start: str,
    end: str,
    states: tuple[str, ...] | None,
    concurrency: int,
) -> tuple[int, int, int]:
    """The CPU floor: every page the harvest needs, fetched and parsed, nothing else.

    Returns (roster users, page views parsed, requests). Whatever a harvester
    spends above this per record is its own; this much aiohttp and orjson spend.
    """
    client = SequentialClient(session, base_url, token)
    users = sorted(await roster(client, course_id, states))
    parsed = 0
    queue = iter(users)

    async def worker() -> None:
        nonlocal parsed
        for user_id in queue:
            next_url: str | None = page_views_url(base_url, user_id, start, end)
            while next_url is not None:
                data, next_url = await client.get(next_url)
                parsed += len(data)  # after the await: no other worker's count is lost

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return len(users), parsed, client.requests
