"""Shared fixtures: a real mock on 127.0.0.1 backed by a real SQLite file; a real PostgreSQL."""
from __future__ import annotations

import itertools

import pytest

from mockserver.config import MockConfig
from mockserver.testing import RunningMock, serve_in_thread
from postgres_cluster import Cluster, postgres_cluster

_database_names = itertools.count(1)


@pytest.fixture
def live_mock(tmp_path) -> RunningMock:
    """A strict mock (answers checked against openapi.yaml) with its own SQLite file."""
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False)) as mock:
        yield mock


@pytest.fixture(scope="session")
def postgres_server() -> Cluster:
    """One PostgreSQL cluster per test process (xdist worker), run as an unprivileged user."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_server: Cluster) -> str:
    """A fresh, empty database of its own for the test; dropped afterwards."""
    name = f"test_{next(_database_names)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def pytest_terminal_summary(terminalreporter) -> None:
    """List the screenshots tests saved (`record_property("screenshot", path)`), also from xdist workers."""
    paths = [value for reports in terminalreporter.stats.values() for report in reports
             for name, value in getattr(report, "user_properties", ()) if name == "screenshot"]
    if paths:
        terminalreporter.section("screenshots")
        for path in dict.fromkeys(paths):
            terminalreporter.write_line(path)
