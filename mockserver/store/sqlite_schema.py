"""The SQLite tables, and the steps that bring an older database file up to them.

`migrate` runs at every open and is idempotent: a file written by an earlier version of the
mock gains the columns and tables added since, and loses the fan-out trigger the outbox
used to have (the store now writes deliveries itself, see `SqliteSession.publish`).
"""
from __future__ import annotations

import sqlite3

from .base import FIRST_LEGACY_ID

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    TEXT NOT NULL UNIQUE,
    org_id        INTEGER NOT NULL,
    url_type      TEXT NOT NULL,
    state         TEXT NOT NULL,
    maker_id      INTEGER NOT NULL,
    checker_id    INTEGER,
    start_time    TEXT NOT NULL,
    end_time      TEXT,
    entity_info   TEXT NOT NULL,
    document      TEXT NOT NULL,
    claim         TEXT,
    claim_expires REAL
);
CREATE INDEX IF NOT EXISTS requests_by_org ON requests (org_id, seq);
CREATE INDEX IF NOT EXISTS requests_by_start ON requests (org_id, start_time);
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
CREATE TABLE IF NOT EXISTS deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq       INTEGER NOT NULL,
    event_id        TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    next_at         REAL,
    delivered_at    REAL,
    history         TEXT NOT NULL DEFAULT '[]',
    UNIQUE (event_seq, subscription_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE INDEX IF NOT EXISTS deliveries_chain ON deliveries (subscription_id, request_id, event_seq);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS dispatcher_lease (
    name     TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    expires  REAL NOT NULL
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
    duration_ms  REAL NOT NULL,
    response     TEXT
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
CREATE TABLE IF NOT EXISTS legacy_requests (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL,
    type         TEXT NOT NULL,
    base_type    TEXT NOT NULL,
    status       TEXT NOT NULL,
    customer     TEXT NOT NULL,
    added_by_id  INTEGER NOT NULL,
    requested_on TEXT NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS legacy_requests_by_org ON legacy_requests (org_id, id);
CREATE TABLE IF NOT EXISTS legacy_logs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL,
    request_id   INTEGER NOT NULL,
    type         TEXT NOT NULL,
    base_type    TEXT NOT NULL,
    status       TEXT NOT NULL,
    source       TEXT NOT NULL,
    updated_on   TEXT NOT NULL,
    entry        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS legacy_logs_by_org ON legacy_logs (org_id, seq);
CREATE TABLE IF NOT EXISTS sequences (
    name         TEXT PRIMARY KEY,
    last         INTEGER NOT NULL
);
DROP TRIGGER IF EXISTS events_fan_out;
"""

# What POST /__admin/reset empties (subscriptions other than the startup ones are removed too).
RESETTABLE = ("requests", "events", "deliveries", "journal", "faults", "used_references", "legacy_logs",
              "legacy_requests")
LEGACY_SEQUENCE = "legacy_requests"


def migrate(conn: sqlite3.Connection) -> None:
    """Create what is missing; `conn` is in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(SCHEMA):
            conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(requests)")}
        if "claim_expires" not in columns:  # files from before claims lapsed
            conn.execute("ALTER TABLE requests ADD COLUMN claim_expires REAL")
        if "response" not in {row[1] for row in conn.execute("PRAGMA table_info(journal)")}:  # before answers were kept
            conn.execute("ALTER TABLE journal ADD COLUMN response TEXT")
        conn.execute("INSERT OR IGNORE INTO sequences (name, last)"
                     " SELECT ?, COALESCE(MAX(id), ?) FROM legacy_requests", (LEGACY_SEQUENCE, FIRST_LEGACY_ID - 1))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
