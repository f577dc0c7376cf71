"""The delivery log's queries: what is due, what an attempt did, what a reader sees.

Every function works on a connection the caller owns (a read or a write transaction).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from .policy import DELIVERED, PENDING, Verdict

LEASE = "dispatcher"


@dataclass(frozen=True)
class Due:
    """A delivery to try now, with what sending it needs."""

    id: int
    event_id: str
    subscription_id: str
    attempts: int
    url: str
    headers: dict[str, str]
    payload: bytes


@dataclass(frozen=True)
class Attempt:
    at: float                  # epoch seconds when the try started
    status: int | None         # the receiver's HTTP status; None when it could not be reached
    error: str | None
    duration_ms: float
    final: bool = False        # could never succeed however often tried (a malformed URL...)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Pending, not being sent now, and no earlier event of the same request still pending for the
# same subscription: the per-request order.
_SENDABLE = ("d.state = 'pending' {skip} AND NOT EXISTS (SELECT 1 FROM deliveries p"
             " WHERE p.subscription_id = d.subscription_id AND p.request_id = d.request_id"
             " AND p.event_seq < d.event_seq AND p.state = 'pending')")


def _sendable(busy: list[int]) -> str:
    return _SENDABLE.format(skip=f"AND d.id NOT IN ({','.join('?' * len(busy))})" if busy else "")


def due(conn: sqlite3.Connection, now: float, busy: Iterable[int], limit: int) -> list[Due]:
    """Sendable deliveries whose time has come, oldest first; `busy` are being sent."""
    busy = list(busy)
    rows = conn.execute(
        "SELECT d.id, d.event_id, d.subscription_id, d.attempts, s.url, s.headers, e.payload"
        " FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN events e ON e.seq = d.event_seq"
        f" WHERE {_sendable(busy)} AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?",
        [*busy, now, limit]).fetchall()
    return [Due(r["id"], r["event_id"], r["subscription_id"], r["attempts"], r["url"], json.loads(r["headers"]),
                r["payload"].encode()) for r in rows]


def next_due_at(conn: sqlite3.Connection, busy: Iterable[int]) -> float | None:
    """When the earliest sendable delivery is due (None: nothing to send until a send ends)."""
    busy = list(busy)
    return conn.execute(f"SELECT MIN(d.next_at) FROM deliveries d WHERE {_sendable(busy)}", busy).fetchone()[0]


def record(tx: sqlite3.Connection, delivery_id: int, attempt: Attempt, verdict: Verdict) -> None:
    """One try, written with the delivery's new state in one statement."""
    entry = {"at": iso(attempt.at), "status": attempt.status, "error": attempt.error,
             "durationMs": round(attempt.duration_ms, 3)}
    done_at = attempt.at + attempt.duration_ms / 1000
    tx.execute(
        "UPDATE deliveries SET attempts = attempts + 1, state = ?, last_status = ?, last_error = ?, next_at = ?,"
        " delivered_at = ?, history = json_insert(history, '$[#]', json(?)) WHERE id = ? AND state = 'pending'",
        (verdict.state, attempt.status, attempt.error,
         done_at + verdict.retry_in_s if verdict.state == PENDING else None,
         done_at if verdict.state == DELIVERED else None, json.dumps(entry), delivery_id))


def deliveries_by_event(conn: sqlite3.Connection, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The `Delivery` views (openapi.yaml) of each event, in subscription order."""
    out: dict[str, list[dict[str, Any]]] = {e: [] for e in event_ids}
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start:start + 500]
        rows = conn.execute(
            "SELECT d.*, COALESCE(s.url, '') AS url FROM deliveries d LEFT JOIN subscriptions s"
            f" ON s.id = d.subscription_id WHERE d.event_id IN ({','.join('?' * len(chunk))}) ORDER BY d.id",
            chunk).fetchall()
        for r in rows:
            out[r["event_id"]].append(_view(r))
    return out


def _view(r: sqlite3.Row) -> dict[str, Any]:
    return {"subscriptionId": r["subscription_id"], "url": r["url"], "attempts": r["attempts"], "state": r["state"],
            "lastStatus": r["last_status"], "lastError": r["last_error"],
            "nextAttemptAt": iso(r["next_at"]) if r["state"] == PENDING else None,
            "deliveredAt": iso(r["delivered_at"]), "history": json.loads(r["history"])}


def settled(conn: sqlite3.Connection, wait_for: str, request_id: str | None) -> bool:
    """`waitFor`: the event (or, for 'all', every listed event) has no delivery still pending.
    An event not (yet) written is not settled."""
    if wait_for != "all":
        if conn.execute("SELECT 1 FROM events WHERE event_id = ?", (wait_for,)).fetchone() is None:
            return False
        sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND event_id = ?", [wait_for]
    elif request_id:
        sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending' AND request_id = ?", [request_id]
    else:
        sql, args = "SELECT 1 FROM deliveries WHERE state = 'pending'", []
    return conn.execute(sql + " LIMIT 1", args).fetchone() is None


# -- the dispatcher's lease: one dispatcher per database, whatever runs it -------------------
def take_lease(tx: sqlite3.Connection, owner: str, now: float, ttl_s: float) -> bool:
    """Take or renew the lease; False while another live dispatcher holds it."""
    row = tx.execute("SELECT owner, expires FROM dispatcher_lease WHERE name = ?", (LEASE,)).fetchone()
    if row is not None and row["owner"] != owner and row["expires"] > now:
        return False
    tx.execute("INSERT OR REPLACE INTO dispatcher_lease (name, owner, expires) VALUES (?, ?, ?)",
               (LEASE, owner, now + ttl_s))
    return True


def release_lease(tx: sqlite3.Connection, owner: str) -> None:
    tx.execute("DELETE FROM dispatcher_lease WHERE name = ? AND owner = ?", (LEASE, owner))
