"""Shared fixtures: the anyio backend (asyncio only, as the harvester targets), worlds,
and a throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pageviews.testing import World, WorldSpec
from pageviews.testing.postgres_cluster import Cluster, running_cluster


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def test_world() -> World:
    """Course 1693 with 320+ students and 50,000+ page views in the classic range."""
    return World.generate(WorldSpec.preset("test"))


@pytest.fixture(scope="session")
def small_world() -> World:
    """A small world for quick behaviour tests."""
    return World.generate(WorldSpec.preset("small"))


@pytest.fixture(scope="session")
def batch_world() -> World:
    """24 courses with overlapping rosters, in accounts and terms, for batch tests."""
    return World.generate(WorldSpec.preset("batch"))


@pytest.fixture(autouse=True)
def _list_endpoint_only_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulated worlds are in 2015, far beyond history's 12 months from today's
    # clock: CLI runs use the list endpoint alone unless a test asks for history.
    monkeypatch.setenv("PAGEVIEWS_HISTORY", "never")
    monkeypatch.delenv("PAGEVIEWS_STATE", raising=False)  # --state's default: a test's own


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster started for the session (fails, never skips, without one)."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres_cluster: Cluster) -> str:
    """The URL of a new, empty database of the session's cluster."""
    return postgres_cluster.new_database()
