"""The SQLite store's WAL under sustained writes: it starts over (from its first frame) long before
SQLite's own auto-checkpoint size, because the commit that crossed that size checkpointed for
12-22 ms while every writer of every process waited (the create p99 of bench_mock)."""
from __future__ import annotations

import sqlite3
import statistics
import threading
import time

import mockserver.store.sqlite as sqlite_store
from mockserver.config import MockConfig
from mockserver.store import open_store

ROW = {"time": "2026-01-01T00:00:00.000+00:00", "method": "POST", "path": "/x", "query": "", "headers": {},
       "body": "b" * 2000, "status": 200, "durationMs": 1.0, "responseBody": "r" * 2000}


def test_the_wal_starts_over_under_sustained_writes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sqlite_store, "RESTART_FRAMES", 64)
    store = open_store(MockConfig(db=str(tmp_path / "state.db")))
    stop = threading.Event()

    def write() -> None:  # about a create's frames every 0.5 ms: a PASSIVE checkpoint never finds the WAL idle
        while not stop.is_set():
            with store.transaction() as tx:
                tx.add_journal_entries([ROW] * 4)
            time.sleep(0.0005)

    writer = threading.Thread(target=write)
    writer.start()
    samples: list[int] = []
    try:
        probe = sqlite3.connect(tmp_path / "state.db", timeout=0)
        for _ in range(60):  # 3 s
            time.sleep(0.05)
            log = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
            if log >= 0:  # -1: busy
                samples.append(log)
        probe.close()
    finally:
        stop.set()
        writer.join(timeout=10)
        store.close()
    assert len(samples) >= 20, samples
    # Without a restart the WAL saws between 0 and the auto-checkpoint's 8192 frames (median ~4,000);
    # restarted every round, it stays near what 0.1 s of writes adds.
    assert statistics.median(samples[4:]) < 2000, samples
