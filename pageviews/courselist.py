"""Which courses a batch names: ids on the command line or in a file. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UsageError

_SIS = "sis_course_id:"


def course_ref(text: str, where: str = "course") -> str:
    """A course as Canvas's paths take it: a numeric id or ``sis_course_id:<id>``."""
    ref = text.strip()
    if ref.isdigit() or (ref.startswith(_SIS) and len(ref) > len(_SIS) and " " not in ref):
        return ref
    raise UsageError(f"{where} {text.strip()!r} must be a numeric id or sis_course_id:<id>")


def courses_file(text: str, name: str) -> list[str]:
    """The courses of a file: one per line, ``#`` starts a comment, blank lines skipped."""
    refs = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            refs.append(course_ref(content, f"{name} line {number}: course"))
    return refs


def unique(refs: Iterable[str]) -> tuple[str, ...]:
    """Each course once, in the order first named."""
    return tuple(dict.fromkeys(refs))
