"""bench/floor_server.py, the floor bench_mock.py reads the mock's create figure against: its forked
processes answer the benchmark's creates on one socket, write each to the SQLite file when asked,
and all end on one SIGTERM to the group (bench_mock's `serving` starts and stops it, as the bench does)."""
from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import requests

from mock_support import auth, body_for
from capillary_contract.loader import load_contract

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_mock import FLOOR_SERVER, Load, Workload, disk_writes, measure_floors, python_load, serving  # noqa: E402


def _floor(tmp_path: Path, db: Path | None) -> Any:
    return serving(lambda port: [sys.executable, str(FLOOR_SERVER), str(port), "2"], tmp_path, "floor",
                   env={**os.environ, **({"BARE_FLASK_DB": str(db)} if db else {})})


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_sqlite_floor_answers_and_writes_every_create(tmp_path) -> None:
    db = tmp_path / "floor.db"
    with _floor(tmp_path, db) as (base, process):
        url = base + load_contract().create_path("GOODWILL-POINTS")
        with requests.Session() as session:
            ids = {session.post(url, json=body_for("GOODWILL-POINTS"), headers=auth("maker"), timeout=5)
                   .json()["data"]["requestId"] for _ in range(20)}
    assert len(ids) == 20
    with sqlite3.connect(db) as conn:
        assert {row[0] for row in conn.execute("SELECT id FROM requests")} == ids
    for _ in range(50):  # the forked processes end with the first (bounded wait)
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    assert not _group_alive(process.pid)


def test_the_memory_floor_writes_nothing(tmp_path) -> None:
    with _floor(tmp_path, None) as (base, _):
        answer = requests.post(base + load_contract().create_path("GOODWILL-POINTS"),
                               json=body_for("GOODWILL-POINTS"), headers=auth("maker"), timeout=5)
    assert answer.status_code == 200 and answer.json()["data"]["status"] == "AdminTask"
    assert list(tmp_path.glob("*.db")) == []


def _creates(base: str, count: int) -> Load:
    url = base + load_contract().create_path("GOODWILL-POINTS")
    started = time.perf_counter()
    with requests.Session() as session:
        for _ in range(count):
            session.post(url, json=body_for("GOODWILL-POINTS"), headers=auth("maker"), timeout=5).raise_for_status()
    return Load("test", count, time.perf_counter() - started, 0.0, 0.0, 0)


def test_disk_writes_counts_what_the_group_wrote_per_request(tmp_path) -> None:
    """bench_mock's disk column: each SQLite create writes at least one WAL frame (4 KiB); the memory
    floor writes at most its log."""
    with _floor(tmp_path, tmp_path / "floor.db") as (base, process):
        sqlite = disk_writes(process.pid, lambda: _creates(base, 40))
    with _floor(tmp_path, None) as (base, process):
        memory = disk_writes(process.pid, lambda: _creates(base, 40))
    assert sqlite.requests == memory.requests == 40
    assert sqlite.written_kib is not None and sqlite.written_kib >= 4
    assert memory.written_kib is not None and memory.written_kib < 1


def test_the_floors_keep_their_database_in_the_state_dir(tmp_path) -> None:
    """`bench_mock --state-dir DIR` (e.g. /dev/shm): the SQLite floor writes its file there, not in the run's folder."""
    workdir, state_dir = tmp_path / "run", tmp_path / "state"
    workdir.mkdir()
    state_dir.mkdir()
    floors = measure_floors(workdir, 2, Workload.of_contract(), python_load, 0.5, state_dir)
    assert set(floors) == {"Flask only", "Flask + SQLite"}
    assert all(load.requests > 0 and load.errors == 0 for load in floors.values())
    assert [p.name for p in state_dir.glob("*.db")] == ["floor-1.db"]
    assert list(workdir.glob("*.db")) == []
