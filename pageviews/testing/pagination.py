"""Canvas pagination pieces: bookmarks, per_page parsing and Link headers.

Follows `lib/api.rb` and `gems/bookmarked_collection` (docs/canvas.md#pagination).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlencode

import orjson

PER_PAGE: Final = 10
MAX_PER_PAGE: Final = 100
#: Page views go to 200 a page (PAGE_VIEWS_MAX_PER_PAGE in page_views_controller.rb).
PAGE_VIEWS_MAX_PER_PAGE: Final = 200
BOOKMARK_PREFIX: Final = "bookmark:"
# Never echoed into pagination links (EXCLUDE_IN_PAGINATION_LINKS in lib/api.rb).
EXCLUDED_PARAMS: Final = frozenset({"page", "per_page", "access_token", "api_key"})

Bookmark = list[object]


def ruby_to_i(text: str) -> int:
    """Convert like Ruby's `String#to_i`: leading digits, else 0."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text.lstrip("+-"):
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0


def per_page(value: str | None, maximum: int = MAX_PER_PAGE) -> int:
    """Return the page size for a `per_page` value: default 10, clamped to 1..maximum."""
    if value is None:
        return PER_PAGE
    return min(max(ruby_to_i(value), 1), maximum)


def encode_bookmark(bookmark: Sequence[object]) -> str:
    """Encode a bookmark as a `page` value: `bookmark:` + unpadded URL-safe base64 JSON."""
    raw = base64.urlsafe_b64encode(orjson.dumps(list(bookmark))).rstrip(b"=")
    return BOOKMARK_PREFIX + raw.decode("ascii")


def decode_bookmark(page: str | None) -> Bookmark | None:
    """Decode a `page` value into a bookmark list, or None for the first page.

    Anything malformed also gives None: Canvas silently restarts at the first page
    because `page_to_bookmark` returns nil (docs/canvas.md#bookmarks).
    """
    if not page or not page.startswith(BOOKMARK_PREFIX):
        return None
    raw = page.removeprefix(BOOKMARK_PREFIX)
    try:
        data = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, list) else None


def page_url(base: str, params: Iterable[tuple[str, str]], page: str, size: int) -> str:
    """Return a pagination URL: the kept query parameters plus `page` and `per_page`."""
    kept = [(k, v) for k, v in params if k not in EXCLUDED_PARAMS]
    return f"{base}?{urlencode([*kept, ('page', page), ('per_page', str(size))])}"


def link_header(links: Iterable[tuple[str, str]]) -> str:
    """Join (rel, url) pairs into a Link header value."""
    return ",".join(f'<{url}>; rel="{rel}"' for rel, url in links)


def numbered_links(
    base: str, params: Iterable[tuple[str, str]], page: int, size: int, shown: int
) -> list[tuple[str, str]]:
    """Return the Link relations of numbered page ``page`` holding ``shown`` items.

    As `Api.paginate` (lib/api.rb) gives them for a collection paginated with
    `total_entries: nil` (no count query), through folio-pagination's ordinal
    page: the total is known only from a short page that is the first page or
    not empty (`Folio::Ordinal::Page::DecoratedArray#replace`). Then there is no
    `next` and `last` is this page; otherwise `next` is the following page and
    there is no `last`, even on an empty page past the end.
    """
    known = shown < size and (page == 1 or shown > 0)
    rels: list[tuple[str, int]] = [("current", page)]
    if not known:
        rels.append(("next", page + 1))
    if page > 1:
        rels.append(("prev", page - 1))
    rels.append(("first", 1))
    if known:
        rels.append(("last", page))
    return [(rel, page_url(base, params, str(number), size)) for rel, number in rels]
