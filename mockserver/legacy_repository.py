"""The v1.1 requests and their status-change log in SQLite, on a connection the caller owns.

v1.1 ids are numbers (Capillary's are longs around 32 million), so a request's id is its
row id, taken as the largest id so far plus one inside the batch's BEGIN IMMEDIATE
transaction. A record keeps the fields of `LegacyRecord` as JSON; the columns beside it
are only what the filters of `/v1.1/request/get` and `/logs` need.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .repository import dumps

FIRST_ID = 32600001
TABLES = ("legacy_logs", "legacy_requests")
DDL = """
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
"""


@dataclass
class LegacyRow:
    """One stored v1.1 request: `record` holds the `LegacyRecord` fields (status and id included)."""

    id: int
    org_id: int
    added_by_id: int
    record: dict[str, Any]

    @property
    def status(self) -> str:
        return self.record["status"]


def _row(row: sqlite3.Row | None) -> LegacyRow | None:
    if row is None:
        return None
    return LegacyRow(row["id"], row["org_id"], row["added_by_id"], json.loads(row["record"]))


def next_id(tx: sqlite3.Connection) -> int:
    return tx.execute("SELECT COALESCE(MAX(id) + 1, ?) FROM legacy_requests", (FIRST_ID,)).fetchone()[0]


def insert(tx: sqlite3.Connection, org_id: int, added_by_id: int, record: dict[str, Any], if_missing: bool = False) -> bool:
    """Store a new request; with `if_missing`, leave one already under its id alone. True if stored."""
    verb = "INSERT OR IGNORE" if if_missing else "INSERT"
    return tx.execute(f"{verb} INTO legacy_requests (id, org_id, type, base_type, status, customer, added_by_id,"
                      " requested_on, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (int(record["id"]), org_id, record["type"], record["base_type"], record["status"],
                       dumps(record["customer"]), added_by_id, record["requested_on"], dumps(record))).rowcount == 1


def get(conn: sqlite3.Connection, org_id: int, request_id: int) -> LegacyRow | None:
    return _row(conn.execute("SELECT * FROM legacy_requests WHERE org_id = ? AND id = ?",
                             (org_id, request_id)).fetchone())


def update(tx: sqlite3.Connection, record: dict[str, Any]) -> None:
    tx.execute("UPDATE legacy_requests SET status = ?, record = ? WHERE id = ?",
               (record["status"], dumps(record), int(record["id"])))


def exists(conn: sqlite3.Connection, org_id: int, status: str, customer: dict[str, str] | None = None,
           **fields: str) -> bool:
    """Is there a request in this status for this customer (keys in the spec's order) whose record
    has these text fields?"""
    where, args = ["org_id = ?", "status = ?"], [org_id, status]
    if customer is not None:
        where.append("customer = ?"), args.append(dumps(customer))
    for key, value in fields.items():
        where.append("json_extract(record, ?) = ?"), args.extend([f"$.{key}", value])
    sql = f"SELECT 1 FROM legacy_requests WHERE {' AND '.join(where)} LIMIT 1"
    return conn.execute(sql, args).fetchone() is not None


@dataclass(frozen=True)
class RecordQuery:
    """The filters of GET /v1.1/request/get (dates already widened to whole seconds)."""

    org_id: int
    customer: tuple[tuple[str, str], ...] = ()
    status: str | None = None
    type: str | None = None
    base_type: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    start_id: int | None = None
    end_id: int | None = None
    limit: int = 50


def find(conn: sqlite3.Connection, q: RecordQuery) -> list[dict[str, Any]]:
    where, args = ["org_id = ?"], [q.org_id]
    for key, value in q.customer:
        where.append("json_extract(customer, ?) = ?"), args.extend([f"$.{key}", value])
    for column, value in (("status", q.status), ("type", q.type), ("base_type", q.base_type)):
        if value is not None:
            where.append(f"{column} = ?"), args.append(value)
    if q.start_date:
        where.append("requested_on >= ?"), args.append(q.start_date)
    if q.end_date:
        where.append("requested_on <= ?"), args.append(q.end_date)
    if q.start_id is not None:
        where.append("id >= ?"), args.append(q.start_id)
    if q.end_id is not None:
        where.append("id <= ?"), args.append(q.end_id)
    rows = conn.execute(f"SELECT record FROM legacy_requests WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                        [*args, q.limit]).fetchall()
    return [json.loads(r["record"]) for r in rows]


# -- the status-change log ---------------------------------------------------------------
def add_log(tx: sqlite3.Connection, org_id: int, entry: dict[str, Any]) -> None:
    tx.execute("INSERT INTO legacy_logs (org_id, request_id, type, base_type, status, source, updated_on, entry)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (org_id, int(entry["request_id"]), entry["type"], entry["base_type"], entry["status"],
                entry["source"], entry["updated_on"], dumps(entry)))


@dataclass(frozen=True)
class LogQuery:
    """The filters of GET /v1.1/request/logs."""

    org_id: int
    type: str
    base_type: str
    start_date: str
    end_date: str
    status: str | None = None
    source: str | None = None
    mobile: str | None = None
    limit: int = 50
    offset: int = 0


def logs(conn: sqlite3.Connection, q: LogQuery) -> list[dict[str, Any]]:
    where = ["l.org_id = ?", "l.type = ?", "l.base_type = ?", "l.updated_on >= ?", "l.updated_on <= ?"]
    args: list[Any] = [q.org_id, q.type, q.base_type, q.start_date, q.end_date]
    for column, value in (("l.status", q.status), ("l.source", q.source)):
        if value is not None:
            where.append(f"{column} = ?"), args.append(value)
    if q.mobile is not None:
        where.append("json_extract(r.customer, '$.mobile') = ?"), args.append(q.mobile)
    rows = conn.execute("SELECT l.entry FROM legacy_logs l JOIN legacy_requests r ON r.id = l.request_id"
                        f" WHERE {' AND '.join(where)} ORDER BY l.seq LIMIT ? OFFSET ?",
                        [*args, q.limit, q.offset]).fetchall()
    return [json.loads(r["entry"]) for r in rows]
