"""The deliveries table, and the trigger that fills it in the event's own transaction.

`repository.add_event` writes an event in the same transaction as the state change; the
trigger below adds one pending delivery per subscription existing at that moment, inside
that same transaction. So a crash can lose neither the event nor the duty to deliver it,
and a subscription receives exactly the events created after it was added.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Iterable

from ..config import Subscription

# Epoch seconds with milliseconds; SQLite 3.40 has no unixepoch('subsec').
NOW_EPOCH = "((julianday('now') - 2440587.5) * 86400.0)"

DDL = f"""
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
CREATE TRIGGER IF NOT EXISTS events_fan_out AFTER INSERT ON events BEGIN
    INSERT INTO deliveries (event_seq, event_id, request_id, subscription_id, next_at)
    SELECT NEW.seq, NEW.event_id, NEW.request_id, s.id, {NOW_EPOCH} FROM subscriptions s;
END;
CREATE TABLE IF NOT EXISTS dispatcher_lease (
    name     TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    expires  REAL NOT NULL
);
"""
RESETTABLE = ("deliveries",)


def startup_id(sub: Subscription) -> str:
    """The same flag gives the same id at every start, so restarts keep its pending deliveries."""
    key = json.dumps([sub.url, sorted(sub.headers.items())], separators=(",", ":"))
    return "startup-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def sync_startup_subscriptions(tx: sqlite3.Connection, subs: Iterable[Subscription]) -> None:
    """Make the 'startup' subscriptions those of this start's `--webhook` flags (idempotent).

    A flag given again keeps its id and its undelivered events; one no longer given is
    removed with its deliveries.
    """
    wanted = {startup_id(s): s for s in subs}
    for row in tx.execute("SELECT id FROM subscriptions WHERE origin = 'startup'").fetchall():
        if row["id"] not in wanted:
            tx.execute("DELETE FROM deliveries WHERE subscription_id = ?", (row["id"],))
            tx.execute("DELETE FROM subscriptions WHERE id = ?", (row["id"],))
    last_seq = tx.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    for sid, sub in wanted.items():
        tx.execute("INSERT OR IGNORE INTO subscriptions (id, url, headers, origin, created_seq)"
                   " VALUES (?, ?, ?, 'startup', ?)",
                   (sid, sub.url, json.dumps(sub.headers, ensure_ascii=False), last_seq))
