"""Shared fixtures: a real mock on 127.0.0.1 backed by a real SQLite file or a real PostgreSQL."""
from __future__ import annotations

import pytest

from mockserver.config import MockConfig
from mockserver.testing import RunningMock, serve_in_thread
from postgres_cluster import Cluster, postgres_cluster, wipe

# A QA team's suite that tests/test_install.py runs outside the repository, with the kit installed.
collect_ignore = ["outside_suite"]

STORES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Cluster:
    """One PostgreSQL cluster per test process (xdist worker), run as an unprivileged user."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def _postgres_database(postgres_server: Cluster) -> str:
    return postgres_server.create_database("mock_tests")


@pytest.fixture
def postgres_url(_postgres_database: str) -> str:
    """An empty database for the test (the process's one, emptied first: cheaper than a new one)."""
    wipe(_postgres_database)
    return _postgres_database


@pytest.fixture(params=STORES)
def store_url(request, tmp_path) -> str:
    """Where a test's mock keeps its state: its own SQLite file, then its own PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return str(tmp_path / "state.db")


@pytest.fixture
def live_mock(store_url) -> RunningMock:
    """A strict mock (answers checked against openapi.yaml) with a store of its own, on each store."""
    with serve_in_thread(MockConfig(db=store_url, strict=True, dispatch=False)) as mock:
        yield mock


def pytest_terminal_summary(terminalreporter) -> None:
    """List the screenshots tests saved (`record_property("screenshot", path)`), also from xdist workers."""
    paths = [value for reports in terminalreporter.stats.values() for report in reports
             for name, value in getattr(report, "user_properties", ()) if name == "screenshot"]
    if paths:
        terminalreporter.section("screenshots")
        for path in dict.fromkeys(paths):
            terminalreporter.write_line(path)


@pytest.fixture(scope="session")
def prism(tmp_path_factory):
    """Stoplight Prism serving openapi.yaml (`prism mock`), installed into bench/.prism by bench_mock's
    installer (the version it pins) if it is not there yet."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_mock import Prism, ensure_prism

    why = ensure_prism()
    assert why is None, f"Prism could not be installed: {why}"
    running = Prism(tmp_path_factory.mktemp("prism"))
    try:
        yield running
    finally:
        running.stop()
