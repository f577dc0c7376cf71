"""Shared fixtures: a real mock on 127.0.0.1 backed by a real SQLite file."""
from __future__ import annotations

import pytest

from mockserver.config import MockConfig
from mockserver.testing import RunningMock, serve_in_thread


@pytest.fixture
def live_mock(tmp_path) -> RunningMock:
    """A strict mock (answers checked against openapi.yaml) with its own SQLite file."""
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False)) as mock:
        yield mock
