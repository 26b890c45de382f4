"""The public names of pageviews.testing."""

from __future__ import annotations

import pageviews.testing as testing


def _isort_key(name: str) -> tuple[bool, bool, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (not name.isupper(), not name[0].isupper(), name)


def test_all_is_sorted_and_importable() -> None:
    assert testing.__all__ == sorted(testing.__all__, key=_isort_key)
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_core_names_are_public() -> None:
    assert {
        "World",
        "WorldSpec",
        "FakeConfig",
        "FakeCanvas",
        "serve",
        "ThrottleConfig",
        "FaultConfig",
        "FaultKind",
        "expected_reports",
        "ExpectedReports",
        "PageViewRow",
        "RequestRecord",
    } <= set(testing.__all__)
