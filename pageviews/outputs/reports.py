"""The three seed-compatible reports, each as CSV and JSON, written in one streaming pass.

Row order (documented in docs/outputs.md):
- ``total-pageviews``: page views descending, then URL;
- ``total-user-pageviews``: user id, then page views descending, then URL;
- ``user-pageviews``: user id, then request date, then page view id.

Users arrive one at a time, in id order, each with their rows already sorted;
user totals are written as each user ends and URL totals at the end, so memory
holds one user's rows and the distinct URLs, never the whole course. Every file
is written under a temporary name and renamed only when all six are complete,
so an interrupted run never leaves a half-written report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Self

from ..notes import CourseNotes
from .atomic import publish_all
from .csvfile import CsvFile, cell_encoder
from .jsonfile import JsonFile
from .reportmeta import KINDS, ReportMeta, seed_csv_header
from .textcodec import FORMULA_STARTS, json_string

_URL = itemgetter(3)
#: Rows rendered per write: bounds memory for a user with a very long history.
_CHUNK = 4096
#: Distinct interaction times remembered as text, at most.
_SECONDS_CACHE = 100_000


@dataclass(slots=True)
class ReportTotals:
    """What the reports hold, for the summary and the library's return value."""

    records: int = 0
    users_with_views: int = 0
    urls: int = 0
    paths: dict[str, Path] = field(default_factory=dict)
    inactive: int = 0  # roster users without views in the range
    per_day: list[int] = field(default_factory=list)  # views per day of the range, local
    notes: CourseNotes = field(default_factory=CourseNotes)  # warnings, notes, days' sources


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Order (url, count) pairs by count descending, then url."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _needs_no_quoting(text: str) -> bool:
    """True when ``text`` can stand bare in CSV and inside JSON quotes."""
    return (
        text.isascii()
        and text.isprintable()
        and '"' not in text
        and "\\" not in text
        and "," not in text
    )


class _Pair:
    """One report's CSV and JSON files, open under temporary names (a format not chosen: none)."""

    def __init__(
        self, out_dir: Path, meta: ReportMeta, kind: str, formats: Collection[str], excel: bool
    ) -> None:
        chosen = {
            ext: meta.path(out_dir, kind, ext) if ext in formats else None
            for ext in ("csv", "json")
        }
        self.csv = CsvFile(chosen["csv"], seed_csv_header(kind), excel=excel)
        try:
            self.json = JsonFile(chosen["json"], meta.json_head())
        except BaseException:
            self.csv.discard()
            raise

    def write(self, csv_lines: list[str], json_lines: list[str]) -> None:
        self.csv.write_lines(csv_lines)
        self.json.write_text_rows(json_lines)

    def close(self) -> None:
        self.csv.close()
        self.json.close()

    def discard(self) -> None:
        self.csv.discard()
        self.json.discard()


class ReportWriter:
    """Write users' sorted rows into the six files; use as a context manager.

    ``excel=True`` makes the CSV files safe to open in a spreadsheet: a byte-order
    mark, and a ``'`` before any text cell that would otherwise run as a formula.
    """

    def __init__(
        self,
        out_dir: Path,
        meta: ReportMeta,
        *,
        excel: bool = False,
        formats: Collection[str] = ("csv", "json"),
    ) -> None:
        self.meta = meta
        self._csv_text = cell_encoder(excel)
        self._excel = excel
        self._pairs: list[_Pair] = []
        try:
            for kind in KINDS:
                self._pairs.append(_Pair(out_dir, meta, kind, formats, excel))
        except BaseException:
            self.discard()
            raise
        self._tail = ",".join(
            (self._csv_text(meta.start_time), self._csv_text(meta.end_time), str(meta.course_id))
        )
        self._url_counts: Counter[str] = Counter()
        self._seconds: dict[float, str] = {}
        # URLs repeat across a course: encode each once.
        self._urls: dict[str, tuple[str, str]] = {}
        self.summary = ReportTotals(
            paths={k: p for k, p in meta.paths(out_dir).items() if k.rsplit(".", 1)[1] in formats}
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.discard()
            return
        try:
            self.commit()
        except BaseException:
            self.discard()
            raise

    def write_user(self, user_id: int, name: str, rows: Iterable[Sequence[Any]]) -> None:
        """Write one user's rows, in (created_at, id) order; users come in id order.

        Each row is (course_id, created_at, id, url, interaction_seconds), with the
        store's fixed ``YYYY-MM-DDTHH:MM:SSZ`` timestamps. Rows are taken a chunk at
        a time, so a user with a very long history costs no more memory than a chunk.
        """
        counts: Counter[str] = Counter()
        csv_name, json_name = self._csv_text(name), json_string(name)
        seconds_text = self._seconds.get
        csv_mid = f",{self._tail},{csv_name},"
        json_lead = f'{{"user_id":{user_id},"course_url":'
        json_mid = f',"user_name":{json_name},"page_view_id":'
        iterator = iter(rows)
        while chunk := list(islice(iterator, _CHUNK)):
            chunk_counts = Counter(map(_URL, chunk))
            counts.update(chunk_counts)
            csv_url, json_url = self._encoded_urls(chunk_counts)
            # Canvas ids are UUIDs: when none in the chunk needs quoting (one check over
            # all of them) they go in bare; otherwise through the encoders.
            plain = _needs_no_quoting("".join([row[2] for row in chunk])) and not (
                self._excel and any(row[2].startswith(FORMULA_STARTS) for row in chunk)
            )
            csv_lines: list[str] = []
            json_lines: list[str] = []
            add_csv, add_json = csv_lines.append, json_lines.append
            for _, created, vid, url, sec in chunk:
                if plain:
                    csv_id, json_id = vid, f'"{vid}"'
                else:
                    csv_id, json_id = self._csv_text(vid), json_string(vid)
                if sec is None:
                    csv_sec, json_sec = "", "null"
                else:
                    csv_sec = json_sec = seconds_text(sec) or self._seconds_text(sec)
                add_csv(f"{user_id},{csv_url[url]},{created}{csv_mid}{csv_id},{csv_sec}\r\n")
                add_json(
                    f'{json_lead}{json_url[url]},"request_date":"{created}"{json_mid}{json_id},'
                    f'"interaction_seconds":{json_sec}}}'
                )
            self._pairs[2].write(csv_lines, json_lines)
        if not counts:
            return
        csv_url, json_url = self._encoded_urls(counts)
        ranked_urls = ranked(counts)
        tail = self._tail
        self._pairs[1].write(
            [f"{user_id},{csv_url[u]},{n},{tail},{csv_name}\r\n" for u, n in ranked_urls],
            [
                f'{json_lead}{json_url[u]},"page_views":{n},"user_name":{json_name}}}'
                for u, n in ranked_urls
            ],
        )
        self._url_counts.update(counts)
        self.summary.records += counts.total()
        self.summary.users_with_views += 1

    def _seconds_text(self, seconds: float) -> str:
        # Interaction times repeat (Canvas keeps two decimals): repr each value once.
        if len(self._seconds) >= _SECONDS_CACHE:
            self._seconds.clear()
        text = self._seconds[seconds] = repr(seconds)
        return text

    def _encoded_urls(self, urls: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        # URLs repeat across a course: each is encoded once for the whole run.
        cache = self._urls
        for url in urls:
            if url not in cache:
                cache[url] = (self._csv_text(url), json_string(url))
        return {u: cache[u][0] for u in urls}, {u: cache[u][1] for u in urls}

    def commit(self) -> None:
        """Write the URL totals, close every file and rename all six into place."""
        csv_lines, json_lines = [], []
        for url, count in ranked(self._url_counts):
            csv_url, json_url = self._urls[url]
            csv_lines.append(f"{csv_url},{count},{self._tail}\r\n")
            json_lines.append(f'{{"course_url":{json_url},"page_views":{count}}}')
        self._pairs[0].write(csv_lines, json_lines)
        self.summary.urls = len(self._url_counts)
        for pair in self._pairs:
            pair.close()
        publish_all(
            file.staged for pair in self._pairs for file in (pair.csv, pair.json) if file.staged
        )

    def discard(self) -> None:
        """Remove the temporary files; nothing reaches the final names."""
        for pair in self._pairs:
            pair.discard()
