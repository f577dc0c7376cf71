"""The store on PostgreSQL: one database shared by every process of every replica.

    mockserver serve --db postgresql://user:password@host:5432/dbname

Each process keeps a psycopg 3 connection pool (made anew after a fork: a child never uses
its parent's connections). A write is one READ COMMITTED transaction and a read one
REPEATABLE READ READ ONLY snapshot. No lock serialises all writers: the single-winner rules
of base.py are conditional updates, re-checked by PostgreSQL on the row they lock, so they
hold across processes and machines; v1.1 ids come from a sequence row incremented under its
row lock; the few check-then-write rules queue on advisory locks (PostgresSession). Every
statement the mock runs on PostgreSQL is in this module.

What differs from SQLite, by necessity: text cannot hold NUL, so a NUL in a value the mock
writes or looks up becomes U+FFFD (such a value is never one the mock handed out);
PostgreSQL's errors leave as `StoreUnavailable` / `StoreFull`, never as psycopg types.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from capillary_contract.lifecycle import PENDING as AWAITING_CHECKER

from .base import (CLAIM_TTL_S, StoreLifecycle, FIRST_LEGACY_ID, Attempt, Due, LegacyRow, ListQuery, LogQuery, RecordQuery,
                   StoredEvent, StoredRequest, StoreError, StoreFull, StoreUnavailable, startup_subscription_id)
from .postgres_schema import LEGACY_SEQUENCE, RESETTABLE, migrate
from .filters import Dialect, Where, log_filters, record_filters, request_filters, request_order
from .rows import (DELIVERY_DELIVERED, DELIVERY_PENDING, LEASE, delivery_view, dumps, fault_view,
                   iso, journal_entry, page, stored_event, subscription_view)

# Per process: a gunicorn sync worker needs one connection at a time, plus its background threads
# (journal flush, claim renewal, the dispatcher's senders); a threaded server needs more.
POOL_MIN, POOL_MAX = 1, 12
CONNECT_TIMEOUT_S = 10
POOL_WAIT_S = 30.0
CONNECTION = {"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S,
              "application_name": "mockserver"}
# A claim that is free to take: none, or one whose owner stopped renewing it.
_CLAIM_FREE = "(claim IS NULL OR claim_expires IS NULL OR claim_expires <= %s)"
# Connections of a parent process, kept referenced in a forked child so that their garbage
# collection never closes the parent's sockets.
_INHERITED: list[ConnectionPool] = []


def redacted(url: str) -> str:
    """The URL without its password, for logs and /__admin/health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def _text(value: Any) -> Any:
    """A parameter PostgreSQL can take: text without NUL, encodable as UTF-8."""
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate (JSON can carry one)
            value = value.encode("utf-8", "replace").decode()
    return value


def _clean(value: Any) -> Any:
    """JSON with every string `_text`-ed, for a `jsonb` column or a comparison with one."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(_clean(value))


class PostgresStore(StoreLifecycle):
    """A PostgreSQL database (base.Store); the schema is created or migrated when opened."""

    waits_on_network = True  # every query is a round trip: requests run in the front's threads (waiting.py)

    def __init__(self, url: str, pool_min: int = POOL_MIN, pool_max: int = POOL_MAX):
        super().__init__()
        self.url = url
        self.location = redacted(url)
        self._sizes = (pool_min, pool_max)
        self._pool: ConnectionPool | None = None
        self._pid = -1
        self._pool_lock = threading.Lock()
        # A direct connection first: a wrong password or host fails at once, in libpq's words.
        with self._translated(), psycopg.connect(url, **CONNECTION) as conn:
            migrate(conn)

    # -- connections -------------------------------------------------------------------
    def _pool_here(self) -> ConnectionPool:
        if self._closed.is_set():
            raise StoreUnavailable("the store is closed")
        if self._pid == os.getpid() and self._pool is not None:
            return self._pool
        with self._pool_lock:
            if self._pid != os.getpid() or self._pool is None:
                if self._pool is not None:  # forked: the parent's pool is the parent's
                    _INHERITED.append(self._pool)
                pool = ConnectionPool(self.url, min_size=self._sizes[0], max_size=self._sizes[1], open=False,
                                      timeout=POOL_WAIT_S, name="mockserver", kwargs=CONNECTION)
                try:
                    pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
                except PoolTimeout as exc:
                    pool.close()
                    raise StoreUnavailable(f"cannot connect to {self.location}: {exc}") from None
                self._pool, self._pid = pool, os.getpid()
        return self._pool

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        with self._pool_here().connection() as conn:
            yield conn

    # -- sessions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["PostgresSession"]:
        """One write transaction (READ COMMITTED), committed or rolled back whole."""
        with self._translated(), self._connection() as conn, conn.transaction():
            yield PostgresSession(conn, write=True)

    @contextlib.contextmanager
    def read(self) -> Iterator["PostgresSession"]:
        """A consistent snapshot for reads."""
        with self._translated(), self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield PostgresSession(conn, write=False)
            finally:
                if not conn.closed:
                    conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """PostgreSQL's failures as the store's own errors (callers know no psycopg)."""
        try:
            yield
        except psycopg.errors.DiskFull as exc:
            raise StoreFull(f"the database {self.location} is full: {exc}") from None
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg.errors.AdminShutdown) as exc:
            raise StoreUnavailable(f"the database {self.location} failed: {str(exc).strip()}") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"the database {self.location} refused: {exc}") from None

    def _release(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
            if pool is not None and self._pid == os.getpid():
                pool.close(timeout=5)


# -- the operations ------------------------------------------------------------------------
def _request(row: dict[str, Any] | None, now: float) -> StoredRequest | None:
    if row is None:
        return None
    claimed = row["claim"] is not None and row["claim_expires"] is not None and row["claim_expires"] > now
    return StoredRequest(row["request_id"], row["org_id"], row["url_type"], row["state"], row["maker_id"], claimed,
                         json.loads(row["document"]), row["entity_info"])


def _member_equals(column: str, key: str, value: Any) -> tuple[str, list[Any]]:
    """The member `key` of the jsonb `column` is `value`, as SQLite compares json_extract(column,
    '$.key') = value: a number matches a number only, and null nothing."""
    if value is None:
        return "FALSE", []
    return f"({column} -> ?) = ?", [key, _jsonb(value)]


# C collation: text sorts byte by byte, as SQLite's BINARY does.
POSTGRES = Dialect("%s", _member_equals, lambda column, values: (f"{column} = ANY(?)", [list(values)]),
                   binary_text=' COLLATE "C"')


# Pending, not being sent now, and no earlier event of the same request still pending for the
# same subscription: the per-request order.
_SENDABLE = ("d.state = 'pending' {skip} AND NOT EXISTS (SELECT 1 FROM deliveries p"
             " WHERE p.subscription_id = d.subscription_id AND p.request_id = d.request_id"
             " AND p.event_seq < d.event_seq AND p.state = 'pending')")


def _sendable(busy: list[int]) -> str:
    return _SENDABLE.format(skip="AND NOT (d.id = ANY(%s))" if busy else "")


class PostgresSession:
    """The store's operations (base.Transaction) on one connection inside one transaction.

    Where SQLite's one writer at a time made a check and the write after it atomic, a write
    session here takes a transaction-scoped advisory lock first, so replicas queue exactly
    where it matters and nowhere else: every v1.1 write (a batch's rule checks, its ids and
    its status changes, as SQLite ran them) and each used reference (a redemption's
    reference, a retro transaction) while it is checked and remembered.
    """

    def __init__(self, conn: psycopg.Connection, write: bool):
        self._conn, self._write = conn, write
        self._locks: set[str] = set()

    def _lock(self, key: str) -> None:
        if self._write and key not in self._locks:
            self._x("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            self._locks.add(key)

    def _legacy_write(self) -> None:
        self._lock("mockserver:v1.1")

    def _reference(self, org_id: int, kind: str, value: str) -> None:
        self._lock(f"mockserver:reference:{org_id}:{kind}:{value}")

    def _x(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor:
        return self._conn.execute(sql, [_text(a) for a in args])

    def _one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        return self._x(sql, args).fetchone()

    # -- v2 requests -------------------------------------------------------------------
    def get_request(self, org_id: int, request_id: str) -> StoredRequest | None:
        return _request(self._one("SELECT * FROM requests WHERE org_id = %s AND request_id = %s",
                                  (org_id, request_id)), time.time())

    def create_request(self, org_id: int, url_type: str, document: dict[str, Any], entity_info: dict[str, Any],
                       checker_id: int | None = None, if_missing: bool = False) -> bool:
        """Store a new request; with `if_missing`, leave one already under its id alone. True if stored."""
        return self._x(
            "INSERT INTO requests (request_id, org_id, url_type, state, maker_id, checker_id, start_time, end_time,"
            " entity_info, document) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            + (" ON CONFLICT DO NOTHING" if if_missing else ""),
            (document["requestId"], org_id, url_type, document["state"], document["userId"], checker_id,
             document["startTime"], document["endTime"], _jsonb(entity_info), dumps(document))).rowcount == 1

    def claim_decision(self, request_id: str, ttl_s: float = CLAIM_TTL_S) -> str | None:
        """Take the request for a decision that runs outside this transaction: the claim's token,
        or None when the request is no longer waiting or another live claim holds it."""
        token, now = uuid.uuid4().hex, time.time()
        won = self._x(f"UPDATE requests SET claim = %s, claim_expires = %s WHERE request_id = %s AND state = %s"
                      f" AND {_CLAIM_FREE}", (token, now + ttl_s, request_id, AWAITING_CHECKER, now)).rowcount
        return token if won == 1 else None

    def renew_claims(self, tokens: Iterable[str], ttl_s: float = CLAIM_TTL_S) -> None:
        tokens = list(tokens)
        if tokens:
            self._x("UPDATE requests SET claim_expires = %s WHERE claim = ANY(%s)", (time.time() + ttl_s, tokens))

    def release_claim(self, request_id: str, token: str) -> None:
        self._x("UPDATE requests SET claim = NULL, claim_expires = NULL WHERE request_id = %s AND claim = %s",
                (request_id, token))

    def finish_decision(self, request_id: str, token: str | None, document: dict[str, Any],
                        checker_id: int) -> bool:
        """Write the decided `document` only if the request still waits for a checker and the claim is
        `token` (None: nobody's live claim). False: someone else decided, or the request is gone."""
        claim, args = ("claim = %s", [token]) if token is not None else (_CLAIM_FREE, [time.time()])
        return self._x(
            "UPDATE requests SET state = %s, end_time = %s, checker_id = %s, document = %s, claim = NULL,"
            f" claim_expires = NULL WHERE request_id = %s AND state = %s AND {claim}",
            [document["state"], document["endTime"], checker_id, dumps(document), request_id, AWAITING_CHECKER,
             *args]).rowcount == 1

    def count_requests(self) -> int:
        return self._one("SELECT count(*) AS n FROM requests")["n"]

    def list_requests(self, q: ListQuery) -> tuple[list[dict[str, Any]], dict[str, int]]:
        where = request_filters(POSTGRES, q)
        total = self._one(f"SELECT count(*) AS n FROM requests WHERE {where.sql}", where.args)["n"]
        rows = self._x(f"SELECT document FROM requests WHERE {where.sql} ORDER BY {request_order(POSTGRES, q)}"
                       " LIMIT %s OFFSET %s", [*where.args, q.limit, q.limit * q.page]).fetchall()
        return page([json.loads(r["document"]) for r in rows], total, q.limit, q.page)

    def reference_used(self, org_id: int, kind: str, value: str) -> bool:
        self._reference(org_id, kind, value)
        return self._one("SELECT 1 FROM used_references WHERE org_id = %s AND kind = %s AND value = %s",
                         (org_id, kind, value)) is not None

    def remember_reference(self, org_id: int, kind: str, value: str) -> None:
        self._reference(org_id, kind, value)
        self._x("INSERT INTO used_references (org_id, kind, value) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (org_id, kind, value))

    # -- the outbox --------------------------------------------------------------------
    def publish(self, event: dict[str, Any], created_at: str) -> int:
        """Add the event to the outbox and one pending delivery of it to every subscription that
        exists now, in this transaction: neither the event nor the duty to deliver it can be lost,
        and a subscription receives exactly the events published after it was added."""
        seq = self._one(
            "INSERT INTO events (event_id, org_id, request_id, state, payload, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING seq",
            (event["eventId"], event["orgId"], event["data"]["requestId"], event["data"]["currentRequestState"],
             dumps(event), created_at))["seq"]
        self._x("INSERT INTO deliveries (event_seq, event_id, request_id, subscription_id, next_at)"
                " SELECT %s, %s, %s, id, %s FROM subscriptions",
                (seq, event["eventId"], event["data"]["requestId"], time.time()))
        return seq

    def list_events(self, request_id: str | None = None) -> list[StoredEvent]:
        sql, args = "SELECT * FROM events", []
        if request_id:
            sql, args = sql + " WHERE request_id = %s", [request_id]
        return [stored_event(r) for r in self._x(sql + " ORDER BY seq", args)]

    def deliveries_by_event(self, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The `Delivery` views (openapi.yaml) of each event, in subscription order."""
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in event_ids}
        if event_ids:
            rows = self._x("SELECT d.*, COALESCE(s.url, '') AS url FROM deliveries d LEFT JOIN subscriptions s"
                           " ON s.id = d.subscription_id WHERE d.event_id = ANY(%s) ORDER BY d.id",
                           (event_ids,)).fetchall()
            for r in rows:
                out[r["event_id"]].append(delivery_view(r))
        return out

    def settled(self, wait_for: str, request_id: str | None) -> bool:
        """`waitFor`: the event (or, for 'all', every listed event) has no delivery still pending.
        An event not (yet) written is not settled."""
        if wait_for != "all":
            if self._one("SELECT 1 FROM events WHERE event_id = %s", (wait_for,)) is None:
                return False
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND event_id = %s", [wait_for]
        elif request_id:
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND request_id = %s", [request_id]
        else:
            sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending'", []
        return self._one(sql + " LIMIT 1", args) is None

    def due_deliveries(self, now: float, busy: Iterable[int], limit: int) -> list[Due]:
        """Sendable deliveries whose time has come, oldest first; `busy` are being sent."""
        busy = list(busy)
        rows = self._x(
            "SELECT d.id, d.event_id, d.subscription_id, d.attempts, s.url, s.headers, e.payload"
            " FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN events e ON e.seq = d.event_seq"
            f" WHERE {_sendable(busy)} AND d.next_at <= %s ORDER BY d.next_at, d.id LIMIT %s",
            [*([busy] if busy else []), now, limit]).fetchall()
        return [Due(r["id"], r["event_id"], r["subscription_id"], r["attempts"], r["url"], json.loads(r["headers"]),
                    r["payload"].encode()) for r in rows]

    def next_due_at(self, busy: Iterable[int]) -> float | None:
        """When the earliest sendable delivery is due (None: nothing to send until a send ends)."""
        busy = list(busy)
        return self._one(f"SELECT min(d.next_at) AS at FROM deliveries d WHERE {_sendable(busy)}",
                         [busy] if busy else [])["at"]

    def lease_holder(self) -> tuple[str, float] | None:
        """The dispatcher holding the lease and when it runs out (epoch seconds), if one ever took it."""
        row = self._one("SELECT owner, expires FROM dispatcher_lease WHERE name = %s", (LEASE,))
        return (row["owner"], row["expires"]) if row is not None else None

    def backlog(self) -> tuple[int, float | None]:
        """Deliveries still pending, and when the earliest of them was due (epoch seconds)."""
        row = self._one("SELECT count(*) AS n, min(next_at) AS at FROM deliveries WHERE state = 'pending'")
        return row["n"], row["at"]

    def record_attempt(self, delivery_id: int, attempt: Attempt, state: str, retry_in_s: float | None) -> None:
        """One try, written with the delivery's new state (`state`, retried after `retry_in_s`) in one statement."""
        entry = {"at": iso(attempt.at), "status": attempt.status, "error": attempt.error,
                 "durationMs": round(attempt.duration_ms, 3)}
        done_at = attempt.at + attempt.duration_ms / 1000
        # The history is appended as text, so each entry keeps its keys in order (jsonb would sort them).
        self._x(
            "UPDATE deliveries SET attempts = attempts + 1, state = %s, last_status = %s, last_error = %s,"
            " next_at = %s, delivered_at = %s, history = CASE WHEN history = '[]' THEN '[' || %s || ']'"
            " ELSE left(history, -1) || ',' || %s || ']' END WHERE id = %s AND state = 'pending'",
            (state, attempt.status, attempt.error,
             done_at + (retry_in_s or 0.0) if state == DELIVERY_PENDING else None,
             done_at if state == DELIVERY_DELIVERED else None, dumps(entry), dumps(entry), delivery_id))

    def take_lease(self, owner: str, now: float, ttl_s: float) -> bool:
        """Take or renew the dispatcher lease; False while another live dispatcher holds it."""
        return self._x(
            "INSERT INTO dispatcher_lease (name, owner, expires) VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE"
            " SET owner = excluded.owner, expires = excluded.expires"
            " WHERE dispatcher_lease.owner = excluded.owner OR dispatcher_lease.expires <= %s",
            (LEASE, owner, now + ttl_s, now)).rowcount == 1

    def release_lease(self, owner: str) -> None:
        self._x("DELETE FROM dispatcher_lease WHERE name = %s AND owner = %s", (LEASE, owner))

    # -- faults, subscriptions, journal --------------------------------------------------
    def add_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        return fault_view(self._one(
            "INSERT INTO faults (id, outcome, request_type, status, body, latency_ms, remaining)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (uuid.uuid4().hex[:12], fault["outcome"], fault.get("requestType"), fault.get("status"),
             dumps(fault["body"]) if "body" in fault else None, fault.get("latencyMs", 0), fault.get("count", 1))))

    def list_faults(self) -> list[dict[str, Any]]:
        return [fault_view(r) for r in self._x("SELECT * FROM faults WHERE remaining > 0 ORDER BY seq")]

    def take_fault(self, url_type: str) -> dict[str, Any] | None:
        """The oldest fault that applies to this type, used up by one (one taker per use: a replica
        skips a fault another is taking, and the row lock re-checks `remaining`)."""
        row = self._one("UPDATE faults SET remaining = remaining - 1 WHERE seq = (SELECT seq FROM faults"
                        " WHERE remaining > 0 AND (request_type IS NULL OR request_type = %s) ORDER BY seq"
                        " LIMIT 1 FOR UPDATE SKIP LOCKED) AND remaining > 0 RETURNING *", (url_type,))
        if row is None:
            return None
        return fault_view({**row, "remaining": row["remaining"] + 1})  # as it was when taken

    def clear_faults(self) -> None:
        self._x("DELETE FROM faults")

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return [subscription_view(r) for r in self._x("SELECT * FROM subscriptions ORDER BY created_seq, id")]

    def add_subscription(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """A runtime subscription; it receives the events published from now on."""
        sub = {"id": uuid.uuid4().hex[:12], "url": url, "headers": headers, "origin": "runtime"}
        self._x("INSERT INTO subscriptions (id, url, headers, origin, created_seq)"
                " SELECT %s, %s, %s, %s, COALESCE(max(seq), 0) FROM events",
                (sub["id"], url, dumps(headers), sub["origin"]))
        return sub

    def remove_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """Remove a subscription and its deliveries (DELETE /__admin/subscriptions/{id}); None if unknown."""
        row = self._one("DELETE FROM subscriptions WHERE id = %s RETURNING *", (subscription_id,))
        if row is None:
            return None
        self._x("DELETE FROM deliveries WHERE subscription_id = %s", (subscription_id,))
        return subscription_view(row)

    def sync_startup_subscriptions(self, subscriptions: Iterable[tuple[str, dict[str, str]]]) -> None:
        """Make the 'startup' subscriptions those of this start's `--webhook` flags (idempotent): a
        flag given again keeps its id and its undelivered events; one no longer given is removed
        with its deliveries."""
        wanted = {startup_subscription_id(url, headers): (url, headers) for url, headers in subscriptions}
        gone = [r["id"] for r in self._x("SELECT id FROM subscriptions WHERE origin = 'startup'")
                if r["id"] not in wanted]
        if gone:
            self._x("DELETE FROM deliveries WHERE subscription_id = ANY(%s)", (gone,))
            self._x("DELETE FROM subscriptions WHERE id = ANY(%s)", (gone,))
        for sid, (url, headers) in wanted.items():
            self._x("INSERT INTO subscriptions (id, url, headers, origin, created_seq)"
                    " SELECT %s, %s, %s, 'startup', COALESCE(max(seq), 0) FROM events ON CONFLICT DO NOTHING",
                    (sid, url, dumps(headers)))

    def add_journal_entries(self, entries: Iterable[dict[str, Any]]) -> None:
        rows = [[_text(v) for v in (e["time"], e["method"], e["path"], e["query"], dumps(e["headers"]), e.get("body"),
                                    e["status"], e["durationMs"], e.get("responseBody"))] for e in entries]
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany("INSERT INTO journal (time, method, path, query, headers, body, status,"
                                   " duration_ms, response) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    def list_journal(self, limit: int, path_prefix: str | None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM journal", []
        if path_prefix:
            sql, args = sql + " WHERE substr(path, 1, %s) = %s", [len(path_prefix), path_prefix]
        return [journal_entry(r) for r in self._x(sql + " ORDER BY id DESC LIMIT %s", [*args, limit])]

    # -- v1.1 ----------------------------------------------------------------------------
    def next_legacy_id(self) -> int:
        """The next v1.1 id, from a sequence row (one increment per id, whoever asks; the row lock
        queues replicas until the batch that took an id commits or rolls back)."""
        self._legacy_write()
        return self._one("UPDATE sequences SET last = last + 1 WHERE name = %s RETURNING last",
                         (LEGACY_SEQUENCE,))["last"]

    def legacy_insert(self, org_id: int, added_by_id: int, record: dict[str, Any], if_missing: bool = False) -> bool:
        """Store a v1.1 request under its id; with `if_missing`, leave one already under it alone. True if stored."""
        self._legacy_write()
        stored = self._x(
            "INSERT INTO legacy_requests (id, org_id, type, base_type, status, customer, added_by_id,"
            " requested_on, record, fields) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            + (" ON CONFLICT DO NOTHING" if if_missing else ""),
            (int(record["id"]), org_id, record["type"], record["base_type"], record["status"],
             _jsonb(record["customer"]), added_by_id, record["requested_on"], dumps(record),
             _jsonb(record))).rowcount == 1
        if stored:  # an id chosen by the caller (the seed's) is never handed out again
            self._x("UPDATE sequences SET last = GREATEST(last, %s) WHERE name = %s",
                    (int(record["id"]), LEGACY_SEQUENCE))
        return stored

    def legacy_get(self, org_id: int, request_id: int) -> LegacyRow | None:
        self._legacy_write()
        row = self._one("SELECT * FROM legacy_requests WHERE org_id = %s AND id = %s", (org_id, request_id))
        return None if row is None else LegacyRow(row["id"], row["org_id"], row["added_by_id"], json.loads(row["record"]))

    def legacy_update(self, record: dict[str, Any]) -> None:
        self._legacy_write()
        self._x("UPDATE legacy_requests SET status = %s, record = %s, fields = %s WHERE id = %s",
                (record["status"], dumps(record), _jsonb(record), int(record["id"])))

    def legacy_exists(self, org_id: int, status: str, customer: dict[str, str] | None = None, **fields: str) -> bool:
        """Is there a request in this status for this customer (keys in the spec's order) whose record
        has these text fields?"""
        self._legacy_write()
        where = Where(POSTGRES).equal("org_id", org_id).equal("status", status)
        where.equal("customer", None if customer is None else _jsonb(customer))
        for key, value in fields.items():
            where.member("fields", key, value)
        return self._one(f"SELECT 1 FROM legacy_requests WHERE {where.sql} LIMIT 1", where.args) is not None

    def legacy_find(self, q: RecordQuery) -> list[dict[str, Any]]:
        where = record_filters(POSTGRES, q)
        rows = self._x(f"SELECT record FROM legacy_requests WHERE {where.sql} ORDER BY id LIMIT %s",
                       [*where.args, q.limit]).fetchall()
        return [json.loads(r["record"]) for r in rows]

    def legacy_add_log(self, org_id: int, entry: dict[str, Any]) -> None:
        self._legacy_write()
        self._x("INSERT INTO legacy_logs (org_id, request_id, type, base_type, status, source, updated_on, entry)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (org_id, int(entry["request_id"]), entry["type"], entry["base_type"], entry["status"],
                 entry["source"], entry["updated_on"], dumps(entry)))

    def legacy_logs(self, q: LogQuery) -> list[dict[str, Any]]:
        where = log_filters(POSTGRES, q)
        rows = self._x("SELECT l.entry FROM legacy_logs l JOIN legacy_requests r ON r.id = l.request_id"
                       f" WHERE {where.sql} ORDER BY l.seq LIMIT %s OFFSET %s",
                       [*where.args, q.limit, q.offset]).fetchall()
        return [json.loads(r["entry"]) for r in rows]

    # -- reset -----------------------------------------------------------------------------
    def reset(self, keep_startup_subscriptions: bool) -> None:
        for table in RESETTABLE:
            self._x(f"DELETE FROM {table}")
        self._x("DELETE FROM subscriptions WHERE origin != 'startup'" if keep_startup_subscriptions
                else "DELETE FROM subscriptions")
        self._x("UPDATE sequences SET last = %s WHERE name = %s", (FIRST_LEGACY_ID - 1, LEGACY_SEQUENCE))
