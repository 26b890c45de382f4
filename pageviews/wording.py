"""Counts said as a person says them."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 user``, ``2 users``, ``1 retry``, ``3 retries``: a count with its noun agreeing."""
    if plural is None:
        plural = singular[:-1] + "ies" if singular.endswith("y") else singular + "s"
    return f"{n:,} {singular if n == 1 else plural}"
