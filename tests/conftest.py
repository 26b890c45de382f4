"""Shared fixtures: the anyio backend (asyncio only, as the harvester targets)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
