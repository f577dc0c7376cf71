"""The store on SQLite: a file shared by every process of a server (or several servers), or `:memory:`.

A file database runs in WAL mode with one connection per thread; every write is one
`BEGIN IMMEDIATE` transaction, so gunicorn workers in separate processes see one state and a
kill -9 loses nothing acknowledged. `:memory:` is a single connection behind a lock
(throwaway runs, one process). Every statement the mock runs is in this module.

Before each transaction the file is checked to be the one opened: a database deleted or
replaced under a running mock would otherwise take writes that vanish at the next restart.
SQLite's errors leave as `StoreUnavailable` / `StoreFull`, never as sqlite3 types.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from pathlib import Path
from urllib.parse import quote
from typing import Any, Callable, Iterable, Iterator

from capillary_contract.lifecycle import PENDING as AWAITING_CHECKER

from .base import (CLAIM_TTL_S, READ_BUDGET, StoreLifecycle, FIRST_LEGACY_ID, Attempt, Due, LegacyRow, ListQuery, LogQuery,
                   ReadOverBudget, RecordQuery, StoredEvent, StoredRequest, StoreFull, StoreUnavailable,
                   startup_subscription_id)
from .filters import Dialect, Where, log_filters, record_filters, request_filters, request_order
from .rows import (DELIVERY_DELIVERED, DELIVERY_PENDING, LEASE, delivery_view, dumps, fault_view,
                   iso, journal_entry, page, stored_event, subscription_view)
from .sqlite_schema import LEGACY_SEQUENCE, RESETTABLE, migrate

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own busy handler does the queueing
    fcntl = None  # type: ignore[assignment]

MEMORY = ":memory:"
# File mode: a background thread per process copies the WAL back into the database every
# CHECKPOINT_INTERVAL_S (PASSIVE: it never holds the write lock), so no request's COMMIT pays
# for a checkpoint (SQLite's default does one in the commit that crosses 1000 pages, a few ms
# during which every writer of every process waits on the file lock; moving it here gave ~9%
# more creates/s). Under sustained writes a PASSIVE checkpoint cannot restart the WAL (some
# writer has always appended since), so once the WAL holds RESTART_FRAMES the thread takes the
# writers' lock for a RESTART checkpoint: it copies the few frames the last PASSIVE left, and the
# next commit writes the WAL from its start again. Without it the WAL grew to SQLite's own
# auto-checkpoint size, and the commit that crossed it checkpointed for 12-22 ms (about once a
# second under load, with every writer of every process waiting: the create p99). The
# auto-checkpoint stays on at a larger size, as the bound where a reader keeps RESTART from finishing.
CHECKPOINT_INTERVAL_S = 0.1
RESTART_FRAMES = 6144
AUTOCHECKPOINT_PAGES = 8192
# Page cache per connection, KiB. There is a connection per thread (32 request threads per served
# process): SQLite's default of 2 MiB each made a served mock's memory grow by ~13 MiB as the
# database filled (bench_memory.py), while the pages a request touches (a row, the tails of tables
# and indexes) are few. (`:memory:` keeps SQLite's default: its pages have nowhere else to live.)
CACHE_KIB = 512
# A read under a budget (READ_BUDGET) looks at the clock every PROGRESS_STEPS virtual-machine steps of
# SQLite (its progress handler): tens of microseconds apart, so an ordinary read (well under a
# millisecond) is looked at a few times at most.
PROGRESS_STEPS = 5000
# A claim that is free to take: none, or one whose owner stopped renewing it.
_CLAIM_FREE = "(claim IS NULL OR claim_expires IS NULL OR claim_expires <= ?)"

SQLITE = Dialect("?", lambda column, key, value: (f"json_extract({column}, ?) = ?", [f"$.{key}", value]),
                 lambda column, values: (f"{column} IN ({','.join('?' * len(values))})", list(values)))


def process_local(location: str) -> bool:
    """True for a database only the process that made it can see (`:memory:`)."""
    return location == MEMORY


class SqliteStore(StoreLifecycle):
    """SQLite file (WAL, a connection per thread) or `:memory:` (one locked connection)."""

    waits_on_network = False

    def __init__(self, location: str):
        super().__init__()
        self.location = location
        self._memory = process_local(location)
        self._local = threading.local()
        self._lock = threading.RLock() if self._memory else None
        # File mode: writers queue on a thread lock, then on a file lock shared by every process on
        # the file, rather than in SQLite's busy handler, whose back-off sleeps (1, 2, 5 ... 100 ms)
        # left the CPUs idle and made the p99 of writes under load ~100-200 ms. Only a throughput
        # measure: no operation's correctness depends on it (see base.py).
        self._write_lock = threading.Lock()
        self._lock_file: Any = None
        self._shared: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._checkpointer_pid = -1
        self._identity: tuple[int, int] | None = None
        if not self._memory:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        with self._translated(), self._locked():
            migrate(self._conn(create=True))
        if not self._memory:
            stat = os.stat(location)
            self._identity = (stat.st_dev, stat.st_ino)

    # -- connections -------------------------------------------------------------------
    def _connect(self, create: bool) -> sqlite3.Connection:
        # Only the store's first connection may create the file: a later one finding it gone must fail,
        # not start an empty database that a restart would then take for the state.
        target = self.location if self._memory or create else f"file:{quote(os.path.abspath(self.location))}?mode=rw"
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30.0,
                               uri=not (self._memory or create))
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        if not self._memory:
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
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

    def _conn(self, create: bool = False) -> sqlite3.Connection:
        if self._closed.is_set():
            raise StoreUnavailable("the store is closed")
        if self._memory:
            if self._shared is None:
                self._shared = self._connect(create)
            return self._shared
        if os.getpid() != self._pid:  # forked (gunicorn worker): never reuse the parent's handles
            self._local = threading.local()
            self._write_lock = threading.Lock()
            self._lock_file = None  # the parent's open file would share its lock with us
            self._all = []
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(create)
        return conn

    def _check_file(self) -> None:
        """The file is still the one this store opened (not deleted, not replaced)."""
        if self._identity is None:
            return
        try:
            stat = os.stat(self.location)
        except OSError:
            raise StoreUnavailable(f"the database file {self.location} was removed while the mock ran") from None
        if (stat.st_dev, stat.st_ino) != self._identity:
            raise StoreUnavailable(f"the database file {self.location} was replaced while the mock ran")

    # -- sessions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["SqliteSession"]:
        """One write transaction: taken at once (BEGIN IMMEDIATE), committed or rolled back whole."""
        READ_BUDGET.set(None)  # this context has written: its later reads run to their end
        with self._translated(), self._locked():
            self._check_file()
            with self._writer():
                conn = self._conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield SqliteSession(conn)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise

    @contextlib.contextmanager
    def read(self) -> Iterator["SqliteSession"]:
        """A consistent snapshot for reads, stopped with `ReadOverBudget` once it runs past READ_BUDGET."""
        budget = READ_BUDGET.get()
        with self._translated(), self._locked():
            self._check_file()
            conn = self._conn()
            conn.execute("BEGIN")
            deadline = _Deadline(budget) if budget is not None else None
            if deadline is not None:
                conn.set_progress_handler(deadline, PROGRESS_STEPS)
            try:
                yield SqliteSession(conn)
            except sqlite3.OperationalError:
                if deadline is not None and deadline.passed:  # the handler stopped it ("interrupted")
                    raise ReadOverBudget(f"a read ran past its {budget:g} s") from None
                raise
            finally:
                if deadline is not None:
                    conn.set_progress_handler(None, 0)
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's failures as the store's own errors (callers know no sqlite3)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                raise StoreFull(f"the database {self.location} is full: {exc}") from None
            raise StoreUnavailable(f"the database {self.location} failed: {exc}") from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise StoreUnavailable(f"the database {self.location} failed: {exc}") from None

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

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all = []
        self._shared = None
        self._local = threading.local()


class _Deadline:
    """SQLite progress handler: stops the statement (a true answer) once the thread has spent `budget_s`
    of CPU time on it. CPU, not the clock: on a busy machine a short read preempted past the budget
    would be stopped and run twice, adding work exactly when there is least to spare."""

    def __init__(self, budget_s: float):
        self.at = time.thread_time() + budget_s
        self.passed = False

    def __call__(self) -> bool:
        self.passed = time.thread_time() > self.at
        return self.passed


def _checkpoint_loop(store_ref: "weakref.ref[SqliteStore]", location: str, closed: threading.Event) -> None:
    """Checkpoint the WAL until the store is closed, dropped, or its file removed."""
    # No busy wait: a RESTART that finds a reader on the WAL gives up at once (and runs again next
    # time) instead of keeping the writers' lock while it waits.
    conn = sqlite3.connect(location, isolation_level=None, check_same_thread=False, timeout=0)
    pid = os.getpid()
    try:
        while not closed.wait(CHECKPOINT_INTERVAL_S):
            store = store_ref()
            if store is None or os.getpid() != pid or not os.path.exists(location):
                return
            with contextlib.suppress(sqlite3.Error, StoreUnavailable):  # the store closing meanwhile
                frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                if frames >= RESTART_FRAMES:
                    with store._writer():
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            del store  # only a weak reference between rounds: a dropped store ends the thread
    finally:
        conn.close()


# -- the operations ------------------------------------------------------------------------
def _request(row: sqlite3.Row | None, now: float) -> StoredRequest | None:
    if row is None:
        return None
    claimed = row["claim"] is not None and row["claim_expires"] is not None and row["claim_expires"] > now
    return StoredRequest(row["request_id"], row["org_id"], row["url_type"], row["state"], row["maker_id"], claimed,
                         json.loads(row["document"]), json.loads(row["entity_info"]))


# Pending, not being sent now, and no earlier event of the same request still pending for the
# same subscription: the per-request order.
_SENDABLE = ("d.state = 'pending' {skip} AND NOT EXISTS (SELECT 1 FROM deliveries p"
             " WHERE p.subscription_id = d.subscription_id AND p.request_id = d.request_id"
             " AND p.event_seq < d.event_seq AND p.state = 'pending')")


def _sendable(busy: list[int]) -> str:
    return _SENDABLE.format(skip=f"AND d.id NOT IN ({','.join('?' * len(busy))})" if busy else "")


class SqliteSession:
    """The store's operations (base.Transaction) on one connection inside one transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self._c = conn

    # -- v2 requests -------------------------------------------------------------------
    def get_request(self, org_id: int, request_id: str) -> StoredRequest | None:
        return _request(self._c.execute("SELECT * FROM requests WHERE org_id = ? AND request_id = ?",
                                        (org_id, request_id)).fetchone(), time.time())

    def create_request(self, org_id: int, url_type: str, document: dict[str, Any], entity_info: dict[str, Any],
                       checker_id: int | None = None, if_missing: bool = False) -> bool:
        """Store a new request; with `if_missing`, leave one already under its id alone. True if stored."""
        verb = "INSERT OR IGNORE" if if_missing else "INSERT"
        return self._c.execute(
            f"{verb} INTO requests (request_id, org_id, url_type, state, maker_id, checker_id, start_time, end_time,"
            " entity_info, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document["requestId"], org_id, url_type, document["state"], document["userId"], checker_id,
             document["startTime"], document["endTime"], dumps(entity_info), dumps(document))).rowcount == 1

    def claim_decision(self, request_id: str, ttl_s: float = CLAIM_TTL_S) -> str | None:
        """Take the request for a decision that runs outside this transaction: the claim's token,
        or None when the request is no longer waiting or another live claim holds it."""
        token, now = uuid.uuid4().hex, time.time()
        won = self._c.execute(f"UPDATE requests SET claim = ?, claim_expires = ? WHERE request_id = ? AND state = ?"
                              f" AND {_CLAIM_FREE}", (token, now + ttl_s, request_id, AWAITING_CHECKER, now)).rowcount
        return token if won == 1 else None

    def renew_claims(self, tokens: Iterable[str], ttl_s: float = CLAIM_TTL_S) -> None:
        tokens = list(tokens)
        if tokens:
            self._c.execute(f"UPDATE requests SET claim_expires = ? WHERE claim IN ({','.join('?' * len(tokens))})",
                            [time.time() + ttl_s, *tokens])

    def release_claim(self, request_id: str, token: str) -> None:
        self._c.execute("UPDATE requests SET claim = NULL, claim_expires = NULL WHERE request_id = ? AND claim = ?",
                        (request_id, token))

    def finish_decision(self, request_id: str, token: str | None, document: dict[str, Any],
                        checker_id: int) -> bool:
        """Write the decided `document` only if the request still waits for a checker and the claim is
        `token` (None: nobody's live claim). False: someone else decided, or the request is gone."""
        claim, args = ("claim = ?", [token]) if token is not None else (_CLAIM_FREE, [time.time()])
        return self._c.execute(
            "UPDATE requests SET state = ?, end_time = ?, checker_id = ?, document = ?, claim = NULL,"
            f" claim_expires = NULL WHERE request_id = ? AND state = ? AND {claim}",
            [document["state"], document["endTime"], checker_id, dumps(document), request_id, AWAITING_CHECKER,
             *args]).rowcount == 1

    def count_requests(self) -> int:
        return self._c.execute("SELECT COUNT(*) FROM requests").fetchone()[0]

    def list_requests(self, q: ListQuery) -> tuple[list[dict[str, Any]], dict[str, int]]:
        where = request_filters(SQLITE, q)
        total = self._c.execute(f"SELECT COUNT(*) FROM requests WHERE {where.sql}", where.args).fetchone()[0]
        # The page's rows are chosen first and only their documents read: sorting whole rows made SQLite
        # read every document of the org (~3 KB each) for each list, 18 lists/s at ~5,000 requests.
        order = request_order(SQLITE, q)
        rows = self._c.execute(f"SELECT document FROM requests WHERE seq IN (SELECT seq FROM requests WHERE {where.sql}"
                               f" ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
                               [*where.args, q.limit, q.limit * q.page]).fetchall()
        return page([json.loads(r["document"]) for r in rows], total, q.limit, q.page)

    def reference_used(self, org_id: int, kind: str, value: str) -> bool:
        return self._c.execute("SELECT 1 FROM used_references WHERE org_id = ? AND kind = ? AND value = ?",
                               (org_id, kind, value)).fetchone() is not None

    def remember_reference(self, org_id: int, kind: str, value: str) -> None:
        self._c.execute("INSERT OR IGNORE INTO used_references (org_id, kind, value) VALUES (?, ?, ?)",
                        (org_id, kind, value))

    # -- the outbox --------------------------------------------------------------------
    def publish(self, event: dict[str, Any], created_at: str) -> int:
        """Add the event to the outbox and one pending delivery of it to every subscription that
        exists now, in this transaction: neither the event nor the duty to deliver it can be lost,
        and a subscription receives exactly the events published after it was added."""
        seq = self._c.execute(
            "INSERT INTO events (event_id, org_id, request_id, state, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event["eventId"], event["orgId"], event["data"]["requestId"], event["data"]["currentRequestState"],
             dumps(event), created_at)).lastrowid
        self._c.execute("INSERT INTO deliveries (event_seq, event_id, request_id, subscription_id, next_at)"
                        " SELECT ?, ?, ?, id, ? FROM subscriptions",
                        (seq, event["eventId"], event["data"]["requestId"], time.time()))
        return seq

    def list_events(self, request_id: str | None = None) -> list[StoredEvent]:
        sql, args = "SELECT * FROM events", []
        if request_id:
            sql, args = sql + " WHERE request_id = ?", [request_id]
        return [stored_event(r) for r in self._c.execute(sql + " ORDER BY seq", args)]

    def deliveries_by_event(self, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The `Delivery` views (openapi.yaml) of each event, in subscription order."""
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in event_ids}
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start:start + 500]
            rows = self._c.execute(
                "SELECT d.*, COALESCE(s.url, '') AS url FROM deliveries d LEFT JOIN subscriptions s"
                f" ON s.id = d.subscription_id WHERE d.event_id IN ({','.join('?' * len(chunk))}) ORDER BY d.id",
                chunk).fetchall()
            for r in rows:
                out[r["event_id"]].append(delivery_view(r))
        return out

    def settled(self, wait_for: str, request_id: str | None) -> bool:
        """`waitFor`: the event (or, for 'all', every listed event) has no delivery still pending.
        An event not (yet) written is not settled."""
        if wait_for != "all":
            if self._c.execute("SELECT 1 FROM events WHERE event_id = ?", (wait_for,)).fetchone() is None:
                return False
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND event_id = ?", [wait_for]
        elif request_id:
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND request_id = ?", [request_id]
        else:
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending'", []
        return self._c.execute(sql + " LIMIT 1", args).fetchone() is None

    def due_deliveries(self, now: float, busy: Iterable[int], limit: int) -> list[Due]:
        """Sendable deliveries whose time has come, oldest first; `busy` are being sent."""
        busy = list(busy)
        rows = self._c.execute(
            "SELECT d.id, d.event_id, d.subscription_id, d.attempts, s.url, s.headers, e.payload"
            " FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN events e ON e.seq = d.event_seq"
            f" WHERE {_sendable(busy)} AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?",
            [*busy, now, limit]).fetchall()
        return [Due(r["id"], r["event_id"], r["subscription_id"], r["attempts"], r["url"], json.loads(r["headers"]),
                    r["payload"].encode()) for r in rows]

    def next_due_at(self, busy: Iterable[int]) -> float | None:
        """When the earliest sendable delivery is due (None: nothing to send until a send ends)."""
        busy = list(busy)
        return self._c.execute(f"SELECT MIN(d.next_at) FROM deliveries d WHERE {_sendable(busy)}", busy).fetchone()[0]

    def lease_holder(self) -> tuple[str, float] | None:
        """The dispatcher holding the lease and when it runs out (epoch seconds), if one ever took it."""
        row = self._c.execute("SELECT owner, expires FROM dispatcher_lease WHERE name = ?", (LEASE,)).fetchone()
        return (row["owner"], row["expires"]) if row is not None else None

    def backlog(self) -> tuple[int, float | None]:
        """Deliveries still pending, and when the earliest of them was due (epoch seconds)."""
        row = self._c.execute("SELECT COUNT(*), MIN(next_at) FROM deliveries WHERE state = 'pending'").fetchone()
        return row[0], row[1]

    def record_attempt(self, delivery_id: int, attempt: Attempt, state: str, retry_in_s: float | None) -> None:
        """One try, written with the delivery's new state (`state`, retried after `retry_in_s`) in one statement."""
        entry = {"at": iso(attempt.at), "status": attempt.status, "error": attempt.error,
                 "durationMs": round(attempt.duration_ms, 3)}
        done_at = attempt.at + attempt.duration_ms / 1000
        self._c.execute(
            "UPDATE deliveries SET attempts = attempts + 1, state = ?, last_status = ?, last_error = ?, next_at = ?,"
            " delivered_at = ?, history = json_insert(history, '$[#]', json(?)) WHERE id = ? AND state = 'pending'",
            (state, attempt.status, attempt.error,
             done_at + (retry_in_s or 0.0) if state == DELIVERY_PENDING else None,
             done_at if state == DELIVERY_DELIVERED else None, json.dumps(entry), delivery_id))

    def take_lease(self, owner: str, now: float, ttl_s: float) -> bool:
        """Take or renew the dispatcher lease; False while another live dispatcher holds it."""
        return self._c.execute(
            "INSERT INTO dispatcher_lease (name, owner, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
            " SET owner = excluded.owner, expires = excluded.expires"
            " WHERE dispatcher_lease.owner = excluded.owner OR dispatcher_lease.expires <= ?",
            (LEASE, owner, now + ttl_s, now)).rowcount == 1

    def release_lease(self, owner: str) -> None:
        self._c.execute("DELETE FROM dispatcher_lease WHERE name = ? AND owner = ?", (LEASE, owner))

    # -- faults, subscriptions, journal --------------------------------------------------
    def add_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        fid = uuid.uuid4().hex[:12]
        self._c.execute("INSERT INTO faults (id, outcome, request_type, status, body, latency_ms, remaining)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (fid, fault["outcome"], fault.get("requestType"), fault.get("status"),
                         dumps(fault["body"]) if "body" in fault else None, fault.get("latencyMs", 0),
                         fault.get("count", 1)))
        return fault_view(self._c.execute("SELECT * FROM faults WHERE id = ?", (fid,)).fetchone())

    def list_faults(self) -> list[dict[str, Any]]:
        return [fault_view(r) for r in self._c.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY seq")]

    def take_fault(self, url_type: str) -> dict[str, Any] | None:
        """The oldest fault that applies to this type, used up by one (a conditional update: one taker per use)."""
        while True:
            row = self._c.execute("SELECT * FROM faults WHERE remaining > 0 AND (request_type IS NULL OR"
                                  " request_type = ?) ORDER BY seq LIMIT 1", (url_type,)).fetchone()
            if row is None:
                return None
            if self._c.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0",
                               (row["id"],)).rowcount == 1:
                return fault_view(row)

    def clear_faults(self) -> None:
        self._c.execute("DELETE FROM faults")

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return [subscription_view(r) for r in self._c.execute("SELECT * FROM subscriptions ORDER BY created_seq, id")]

    def add_subscription(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """A runtime subscription; it receives the events published from now on."""
        sub = {"id": uuid.uuid4().hex[:12], "url": url, "headers": headers, "origin": "runtime"}
        self._c.execute("INSERT INTO subscriptions (id, url, headers, origin, created_seq)"
                        " SELECT ?, ?, ?, ?, COALESCE(MAX(seq), 0) FROM events",
                        (sub["id"], url, dumps(headers), sub["origin"]))
        return sub

    def remove_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """Remove a subscription and its deliveries (DELETE /__admin/subscriptions/{id}); None if unknown."""
        found = next((s for s in self.list_subscriptions() if s["id"] == subscription_id), None)
        if found is not None:
            self._c.execute("DELETE FROM deliveries WHERE subscription_id = ?", (subscription_id,))
            self._c.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
        return found

    def sync_startup_subscriptions(self, subscriptions: Iterable[tuple[str, dict[str, str]]]) -> None:
        """Make the 'startup' subscriptions those of this start's `--webhook` flags (idempotent): a
        flag given again keeps its id and its undelivered events; one no longer given is removed
        with its deliveries."""
        wanted = {startup_subscription_id(url, headers): (url, headers) for url, headers in subscriptions}
        for row in self._c.execute("SELECT id FROM subscriptions WHERE origin = 'startup'").fetchall():
            if row["id"] not in wanted:
                self._c.execute("DELETE FROM deliveries WHERE subscription_id = ?", (row["id"],))
                self._c.execute("DELETE FROM subscriptions WHERE id = ?", (row["id"],))
        for sid, (url, headers) in wanted.items():
            self._c.execute("INSERT OR IGNORE INTO subscriptions (id, url, headers, origin, created_seq)"
                            " SELECT ?, ?, ?, 'startup', COALESCE(MAX(seq), 0) FROM events", (sid, url, dumps(headers)))

    def add_journal_entries(self, entries: Iterable[dict[str, Any]]) -> None:
        self._c.executemany("INSERT INTO journal (time, method, path, query, headers, body, status, duration_ms,"
                            " response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(e["time"], e["method"], e["path"], e["query"], dumps(e["headers"]), e.get("body"),
                              e["status"], e["durationMs"], e.get("responseBody")) for e in entries])

    def list_journal(self, limit: int, path_prefix: str | None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM journal", []
        if path_prefix:
            sql, args = sql + " WHERE substr(path, 1, ?) = ?", [len(path_prefix), path_prefix]
        return [journal_entry(r) for r in self._c.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])]

    # -- v1.1 ----------------------------------------------------------------------------
    def next_legacy_id(self) -> int:
        """The next v1.1 id, from a sequence row (one increment per id, whoever asks)."""
        return self._c.execute("UPDATE sequences SET last = last + 1 WHERE name = ? RETURNING last",
                               (LEGACY_SEQUENCE,)).fetchone()[0]

    def legacy_insert(self, org_id: int, added_by_id: int, record: dict[str, Any], if_missing: bool = False) -> bool:
        """Store a v1.1 request under its id; with `if_missing`, leave one already under it alone. True if stored."""
        verb = "INSERT OR IGNORE" if if_missing else "INSERT"
        stored = self._c.execute(
            f"{verb} INTO legacy_requests (id, org_id, type, base_type, status, customer, added_by_id,"
            " requested_on, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(record["id"]), org_id, record["type"], record["base_type"], record["status"],
             dumps(record["customer"]), added_by_id, record["requested_on"], dumps(record))).rowcount == 1
        if stored:  # an id chosen by the caller (the seed's) is never handed out again
            self._c.execute("UPDATE sequences SET last = MAX(last, ?) WHERE name = ?", (int(record["id"]), LEGACY_SEQUENCE))
        return stored

    def legacy_get(self, org_id: int, request_id: int) -> LegacyRow | None:
        row = self._c.execute("SELECT * FROM legacy_requests WHERE org_id = ? AND id = ?", (org_id, request_id)).fetchone()
        return None if row is None else LegacyRow(row["id"], row["org_id"], row["added_by_id"], json.loads(row["record"]))

    def legacy_update(self, record: dict[str, Any]) -> None:
        self._c.execute("UPDATE legacy_requests SET status = ?, record = ? WHERE id = ?",
                        (record["status"], dumps(record), int(record["id"])))

    def legacy_exists(self, org_id: int, status: str, customer: dict[str, str] | None = None, **fields: str) -> bool:
        """Is there a request in this status for this customer (keys in the spec's order) whose record
        has these text fields?"""
        where = Where(SQLITE).equal("org_id", org_id).equal("status", status)
        where.equal("customer", None if customer is None else dumps(customer))
        for key, value in fields.items():
            where.member("record", key, value)
        return self._c.execute(f"SELECT 1 FROM legacy_requests WHERE {where.sql} LIMIT 1", where.args).fetchone() is not None

    def legacy_find(self, q: RecordQuery) -> list[dict[str, Any]]:
        where = record_filters(SQLITE, q)
        rows = self._c.execute(f"SELECT record FROM legacy_requests WHERE {where.sql} ORDER BY id LIMIT ?",
                               [*where.args, q.limit]).fetchall()
        return [json.loads(r["record"]) for r in rows]

    def legacy_add_log(self, org_id: int, entry: dict[str, Any]) -> None:
        self._c.execute("INSERT INTO legacy_logs (org_id, request_id, type, base_type, status, source, updated_on,"
                        " entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (org_id, int(entry["request_id"]), entry["type"], entry["base_type"], entry["status"],
                         entry["source"], entry["updated_on"], dumps(entry)))

    def legacy_logs(self, q: LogQuery) -> list[dict[str, Any]]:
        where = log_filters(SQLITE, q)
        rows = self._c.execute("SELECT l.entry FROM legacy_logs l JOIN legacy_requests r ON r.id = l.request_id"
                               f" WHERE {where.sql} ORDER BY l.seq LIMIT ? OFFSET ?",
                               [*where.args, q.limit, q.offset]).fetchall()
        return [json.loads(r["entry"]) for r in rows]

    # -- reset -----------------------------------------------------------------------------
    def reset(self, keep_startup_subscriptions: bool) -> None:
        for table in RESETTABLE:
            self._c.execute(f"DELETE FROM {table}")
        self._c.execute("DELETE FROM subscriptions WHERE origin != 'startup'" if keep_startup_subscriptions
                        else "DELETE FROM subscriptions")
        self._c.execute("UPDATE sequences SET last = ? WHERE name = ?", (FIRST_LEGACY_ID - 1, LEGACY_SEQUENCE))
