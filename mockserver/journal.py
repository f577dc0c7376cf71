"""The request journal, written in batches off the request path.

Each answer's journal row is kept in this worker's memory and a background thread writes
what has gathered every FLUSH_INTERVAL_S in one transaction, instead of every request
paying for a second write transaction of its own (that cost ~15% of create throughput).
The trade-off, by choice: a kill -9 may lose the journal rows of the last fraction of a
second. Requests themselves are never buffered: their state change is committed before
the answer leaves. Rows answered by another gunicorn worker show up within one interval.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from .store import Store

log = logging.getLogger("mockserver")
FLUSH_INTERVAL_S = 0.05


class JournalBuffer:
    """Journal rows of this process, flushed by a daemon thread started on first use."""

    def __init__(self, store: Store, interval_s: float = FLUSH_INTERVAL_S):
        self._store = store
        self._interval = interval_s
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []
        self._pid = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        store.on_reset.append(self.discard)
        store.on_close.append(self.close)
        atexit.register(self.close)

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (a forked worker starts its own thread)
                self._start()
            self._rows.append(entry)

    def flush(self) -> None:
        """Write every row gathered so far (the journal view calls this before it reads)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            with self._store.transaction() as tx:
                tx.add_journal_entries(rows)

    def discard(self) -> None:
        with self._lock:
            self._rows = []

    def close(self) -> None:
        self._stop.set()
        # A flush under way must finish before the store closes its connections: closing one while
        # the flush thread writes through it crashes SQLite (seen as a segfault when mocks stop quickly).
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        try:
            self.flush()
        except Exception:  # a closed store at exit: nothing more can be written
            log.debug("journal rows dropped at exit", exc_info=True)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._rows = []  # rows a parent process gathered are its own to write
        self._thread = threading.Thread(target=self._run, name="journal-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the journal must never take the mock down
                log.exception("journal flush failed")
