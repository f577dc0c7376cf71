"""Durable state: SQLite behind a small interface (transaction / read / reset).

A file database runs in WAL mode with one connection per thread, and every state change
(with its outbox event) is one `BEGIN IMMEDIATE` transaction, so gunicorn workers in
separate processes see one state and a kill -9 loses nothing acknowledged. `:memory:` is a
single connection behind a lock (throwaway runs, one process). A server database would
implement the same three methods.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own busy handler does the queueing
    fcntl = None  # type: ignore[assignment]

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT NOT NULL UNIQUE,
    org_id       INTEGER NOT NULL,
    url_type     TEXT NOT NULL,
    state        TEXT NOT NULL,
    maker_id     INTEGER NOT NULL,
    checker_id   INTEGER,
    start_time   TEXT NOT NULL,
    end_time     TEXT,
    entity_info  TEXT NOT NULL,
    document     TEXT NOT NULL,
    claim        TEXT
);
CREATE INDEX IF NOT EXISTS requests_by_org ON requests (org_id, seq);
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    org_id       INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_request ON events (request_id, seq);
CREATE TABLE IF NOT EXISTS subscriptions (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    headers      TEXT NOT NULL,
    origin       TEXT NOT NULL,
    created_seq  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS journal (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    time         TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    query        TEXT NOT NULL,
    headers      TEXT NOT NULL,
    body         TEXT,
    status       INTEGER NOT NULL,
    duration_ms  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    outcome      TEXT NOT NULL,
    request_type TEXT,
    status       INTEGER,
    body         TEXT,
    latency_ms   INTEGER NOT NULL DEFAULT 0,
    remaining    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS used_references (
    org_id       INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
);
"""

# File mode: a background thread per process copies the WAL back into the database every
# CHECKPOINT_INTERVAL_S (PASSIVE: it never holds the write lock), so no request's COMMIT pays
# for a checkpoint (SQLite's default does one in the commit that crosses 1000 pages, a few ms
# during which every writer of every process waits on the file lock; moving it here gave ~9%
# more creates/s). Under sustained writes a PASSIVE checkpoint cannot restart the WAL, so
# SQLite's own auto-checkpoint stays on at a larger size: it bounds the WAL to ~32 MiB.
CHECKPOINT_INTERVAL_S = 0.1
AUTOCHECKPOINT_PAGES = 8192

# Tables that POST /__admin/reset empties (subscriptions are handled by the caller).
RESETTABLE = ("requests", "events", "journal", "faults", "used_references")


class Store(Protocol):
    """What the rest of the mock needs from a database."""

    location: str

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...
    def read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...
    def add_schema(self, ddl: str, resettable: tuple[str, ...] = ()) -> None: ...
    def close(self) -> None: ...


class SqliteStore:
    """SQLite file (WAL, a connection per thread) or `:memory:` (one locked connection)."""

    def __init__(self, location: str):
        self.location = location
        self._memory = location == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock() if self._memory else None
        # File mode: writers queue on a thread lock, then on a file lock shared by every process on
        # the file, rather than in SQLite's busy handler, whose back-off sleeps (1, 2, 5 ... 100 ms)
        # left the CPUs idle and made the p99 of writes under load ~100-200 ms.
        self._write_lock = threading.Lock()
        self._lock_file: Any = None
        self._shared: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._checkpointer_pid = -1
        self._closed = threading.Event()
        self.resettable: list[str] = list(RESETTABLE)
        # Called before a reset empties the tables and before the store closes (e.g. buffered journal rows).
        self.on_reset: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], None]] = []
        if not self._memory:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        self.add_schema(SCHEMA)

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.location, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        if not self._memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
            self._start_checkpointer()
        self._all.append(conn)
        return conn

    def _start_checkpointer(self) -> None:
        if self._checkpointer_pid == os.getpid():
            return
        self._checkpointer_pid = os.getpid()
        threading.Thread(target=_checkpoint_loop, args=(weakref.ref(self), self.location, self._closed),
                         name="wal-checkpoint", daemon=True).start()

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        if os.getpid() != self._pid:  # forked (gunicorn worker): never reuse the parent's handles
            self._local = threading.local()
            self._write_lock = threading.Lock()
            self._lock_file = None  # the parent's open file would share its lock with us
            self._all = []
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken at once (BEGIN IMMEDIATE), committed or rolled back whole."""
        with self._locked(), self._writer():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads."""
        with self._locked():
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        if self._memory:  # already serialised by _locked
            yield
        else:
            self._conn()  # a fork is noticed (and the locks renewed) before a lock is taken
            with self._write_lock:
                if fcntl is None:
                    yield
                    return
                if self._lock_file is None:
                    self._lock_file = open(f"{self.location}-writer.lock", "a+b")  # noqa: SIM115 (kept open)
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock is None:
            yield
        else:
            with self._lock:
                yield

    def add_schema(self, ddl: str, resettable: tuple[str, ...] = ()) -> None:
        """Create tables if missing (parts of the mock bring their own); `resettable` ones
        are emptied by POST /__admin/reset."""
        with self._locked():
            self._conn().executescript(ddl)
        self.resettable.extend(t for t in resettable if t not in self.resettable)

    def reset(self, keep_startup_subscriptions: bool = True) -> None:
        for hook in self.on_reset:
            hook()
        with self.transaction() as tx:
            for table in self.resettable:
                tx.execute(f"DELETE FROM {table}")
            tx.execute("DELETE FROM subscriptions WHERE origin != 'startup'" if keep_startup_subscriptions
                       else "DELETE FROM subscriptions")

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        self.on_close = []
        self._closed.set()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all = []
        self._shared = None
        self._local = threading.local()


def _checkpoint_loop(store: "weakref.ref[SqliteStore]", location: str, closed: threading.Event) -> None:
    """Checkpoint the WAL until the store is closed, dropped, or its file removed."""
    conn = sqlite3.connect(location, isolation_level=None, check_same_thread=False)
    pid = os.getpid()
    try:
        while not closed.wait(CHECKPOINT_INTERVAL_S):
            if store() is None or os.getpid() != pid or not os.path.exists(location):
                return
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()
