"""bench/floor_server.py, the floor bench_mock.py reads the mock's create figure against: its forked
processes answer the benchmark's creates on one socket, write each to the SQLite file when asked,
and all end on one SIGTERM to the group."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from mock_support import auth, body_for, wait_healthy
from capillary_contract.http import free_port
from capillary_contract.loader import load_contract

ROOT = Path(__file__).resolve().parents[1]


def _serve(tmp_path: Path, db: Path | None) -> tuple[subprocess.Popen, str, Path]:
    port, log = free_port(), tmp_path / "floor.log"
    env = {**os.environ, **({"BARE_FLASK_DB": str(db)} if db else {})}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor_server.py"), str(port), "2"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}", log


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_sqlite_floor_answers_and_writes_every_create(tmp_path) -> None:
    db = tmp_path / "floor.db"
    process, base, log = _serve(tmp_path, db)
    try:
        wait_healthy(base, process, log)
        url = base + load_contract().create_path("GOODWILL-POINTS")
        with requests.Session() as session:
            ids = {session.post(url, json=body_for("GOODWILL-POINTS"), headers=auth("maker"), timeout=5)
                   .json()["data"]["requestId"] for _ in range(20)}
    finally:
        _stop(process)
    assert len(ids) == 20
    with sqlite3.connect(db) as conn:
        assert {row[0] for row in conn.execute("SELECT id FROM requests")} == ids
    for _ in range(50):  # the forked processes end with the first (bounded wait)
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    assert not _group_alive(process.pid)


def test_the_memory_floor_writes_nothing(tmp_path) -> None:
    process, base, log = _serve(tmp_path, None)
    try:
        wait_healthy(base, process, log)
        answer = requests.post(base + load_contract().create_path("GOODWILL-POINTS"),
                               json=body_for("GOODWILL-POINTS"), headers=auth("maker"), timeout=5)
    finally:
        _stop(process)
    assert answer.status_code == 200 and answer.json()["data"]["status"] == "AdminTask"
    assert list(tmp_path.glob("*.db")) == []
