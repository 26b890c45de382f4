"""The account tree and enrollment terms of the synthetic Canvas world.

Invariant: every account but the root names a parent that is listed before it,
so a walk from any account upward ends at `ROOT_ACCOUNT_ID`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .records import DEFAULT_TERM_ID, ROOT_ACCOUNT_ID, SPRING_TERM_ID, WINTER_TERM_ID


@dataclass(frozen=True, slots=True)
class Account:
    """Hold one account: the root or a sub-account."""

    id: int
    name: str
    parent_account_id: int | None
    sis_account_id: str | None = None  # root accounts have none


@dataclass(frozen=True, slots=True)
class Term:
    """Hold one enrollment term of the root account."""

    id: int
    name: str
    sis_term_id: str | None = None


ACCOUNTS: Final = (
    Account(ROOT_ACCOUNT_ID, "Canvas Example University", None),
    Account(2, "College of Science", ROOT_ACCOUNT_ID, "SCI"),
    Account(3, "College of Humanities", ROOT_ACCOUNT_ID, "HUM"),
    Account(4, "Department of Mathematics", 2, "SCI-MATH"),  # a sub-account's sub-account
)
# Every root account has a "Default Term" (enrollment_term.rb); course sandboxes stay in it.
TERMS: Final = (
    Term(DEFAULT_TERM_ID, "Default Term"),
    Term(SPRING_TERM_ID, "Spring 2015", "2015SP"),
    Term(WINTER_TERM_ID, "Winter Session 2015", "2015WI"),
)
_PARENTS: Final = {a.id: a.parent_account_id for a in ACCOUNTS}
_SIS_ACCOUNTS: Final = {a.sis_account_id: a.id for a in ACCOUNTS if a.sis_account_id}
_SIS_TERMS: Final = {t.sis_term_id: t.id for t in TERMS if t.sis_term_id}


def resolve_account(ref: str) -> int | None:
    """Return the account a path segment names: id, `self` (the root) or `sis_account_id:X`.

    As `api_find_all` in lib/api.rb reads it; anything else names no account.
    """
    if ref == "self":
        return ROOT_ACCOUNT_ID
    if ref.startswith("sis_account_id:"):
        return _SIS_ACCOUNTS.get(ref.removeprefix("sis_account_id:"))
    return int(ref) if ref.isdigit() and int(ref) in _PARENTS else None


def resolve_term(ref: str) -> int | None:
    """Return the term an `enrollment_term_id` names: id, `default` or `sis_term_id:X`."""
    if ref == "default":
        return DEFAULT_TERM_ID
    if ref.startswith("sis_term_id:"):
        return _SIS_TERMS.get(ref.removeprefix("sis_term_id:"))
    known = {t.id for t in TERMS}
    return int(ref) if ref.isdigit() and int(ref) in known else None


def account_chain(account_id: int) -> list[int]:
    """Return the account and its ancestors up to the root, nearest first."""
    chain: list[int] = []
    current: int | None = account_id
    while current is not None:
        chain.append(current)
        current = _PARENTS[current]
    return chain
