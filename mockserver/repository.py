"""The queries behind the v2 API and the admin API, each on a connection the caller owns.

Keeping them on a passed-in connection lets a handler put a state change and its outbox
event in one transaction.
"""
from __future__ import annotations

import json
import math
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any, Iterable


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- requests --------------------------------------------------------------------------
@dataclass
class StoredRequest:
    request_id: str
    org_id: int
    url_type: str
    state: str
    maker_id: int
    claim: str | None
    document: dict[str, Any]
    entity_info: dict[str, Any]


def _row(row: sqlite3.Row | None) -> StoredRequest | None:
    if row is None:
        return None
    return StoredRequest(row["request_id"], row["org_id"], row["url_type"], row["state"], row["maker_id"],
                         row["claim"], json.loads(row["document"]), json.loads(row["entity_info"]))


def insert_request(tx: sqlite3.Connection, org_id: int, url_type: str, document: dict[str, Any],
                   entity_info: dict[str, Any], checker_id: int | None = None) -> None:
    tx.execute(
        "INSERT INTO requests (request_id, org_id, url_type, state, maker_id, checker_id, start_time, end_time,"
        " entity_info, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (document["requestId"], org_id, url_type, document["state"], document["userId"], checker_id,
         document["startTime"], document["endTime"], dumps(entity_info), dumps(document)))


def get_request(conn: sqlite3.Connection, org_id: int, request_id: str) -> StoredRequest | None:
    return _row(conn.execute("SELECT * FROM requests WHERE org_id = ? AND request_id = ?",
                             (org_id, request_id)).fetchone())


def claim_request(tx: sqlite3.Connection, request_id: str, claim: dict[str, Any]) -> None:
    tx.execute("UPDATE requests SET claim = ? WHERE request_id = ?", (dumps(claim), request_id))


def finish_request(tx: sqlite3.Connection, request_id: str, document: dict[str, Any], checker_id: int | None) -> None:
    tx.execute("UPDATE requests SET state = ?, end_time = ?, checker_id = ?, document = ?, claim = NULL"
               " WHERE request_id = ?",
               (document["state"], document["endTime"], checker_id, dumps(document), request_id))


def release_claim(tx: sqlite3.Connection, request_id: str) -> None:
    tx.execute("UPDATE requests SET claim = NULL WHERE request_id = ?", (request_id,))


def release_all_claims(tx: sqlite3.Connection) -> int:
    """At start-up: decisions that were under way when the process died never happened."""
    return tx.execute("UPDATE requests SET claim = NULL WHERE claim IS NOT NULL").rowcount


def count_requests(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]


@dataclass(frozen=True)
class ListQuery:
    org_id: int
    maker_id: int | None = None
    states: tuple[str, ...] = ()
    url_type: str | None = None
    entity: tuple[tuple[str, str], ...] = ()
    start_date: str | None = None
    end_date: str | None = None
    sort_by: str | None = None
    sort_order: str = "desc"
    limit: int = 10
    page: int = 0


SORT_COLUMNS = {"startDate": "start_time", "endDate": "end_time"}


def list_requests(conn: sqlite3.Connection, q: ListQuery) -> tuple[list[dict[str, Any]], dict[str, int]]:
    where, args = ["org_id = ?"], [q.org_id]
    if q.maker_id is not None:
        where.append("maker_id = ?"), args.append(q.maker_id)
    if q.states:
        where.append(f"state IN ({','.join('?' * len(q.states))})"), args.extend(q.states)
    if q.url_type:
        where.append("url_type = ?"), args.append(q.url_type)
    for key, value in q.entity:
        where.append("json_extract(entity_info, ?) = ?"), args.extend([f"$.{key}", value])
    if q.start_date:
        where.append("substr(start_time, 1, 10) >= ?"), args.append(q.start_date)
    if q.end_date:
        where.append("substr(start_time, 1, 10) <= ?"), args.append(q.end_date)
    direction = "ASC" if q.sort_order == "asc" else "DESC"
    order = f"seq {direction}"
    if q.sort_by:
        column = SORT_COLUMNS[q.sort_by]
        order = f"{column} IS NULL, {column} {direction}, seq {direction}"
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM requests WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(f"SELECT document FROM requests WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                        [*args, q.limit, q.limit * q.page]).fetchall()
    data = [json.loads(r["document"]) for r in rows]
    pages = math.ceil(total / q.limit) if q.limit else 0
    return data, {"totalElements": total, "totalPages": pages, "numberOfElements": len(data), "number": q.page}


def remember_reference(tx: sqlite3.Connection, org_id: int, kind: str, value: str) -> None:
    tx.execute("INSERT OR IGNORE INTO used_references (org_id, kind, value) VALUES (?, ?, ?)", (org_id, kind, value))


# -- outbox ----------------------------------------------------------------------------
def add_event(tx: sqlite3.Connection, event: dict[str, Any], created_at: str) -> None:
    tx.execute("INSERT INTO events (event_id, org_id, request_id, state, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               (event["eventId"], event["orgId"], event["data"]["requestId"], event["data"]["currentRequestState"],
                dumps(event), created_at))


def list_events(conn: sqlite3.Connection, request_id: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM events", []
    if request_id:
        sql, args = sql + " WHERE request_id = ?", [request_id]
    return [dict(r) for r in conn.execute(sql + " ORDER BY seq", args)]


# -- faults ----------------------------------------------------------------------------
def add_fault(tx: sqlite3.Connection, fault: dict[str, Any]) -> dict[str, Any]:
    fid = uuid.uuid4().hex[:12]
    tx.execute("INSERT INTO faults (id, outcome, request_type, status, body, latency_ms, remaining)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               (fid, fault["outcome"], fault.get("requestType"), fault.get("status"),
                dumps(fault["body"]) if "body" in fault else None, fault.get("latencyMs", 0), fault.get("count", 1)))
    return _fault(tx.execute("SELECT * FROM faults WHERE id = ?", (fid,)).fetchone())


def _fault(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "outcome": row["outcome"], "requestType": row["request_type"], "status": row["status"],
            "body": json.loads(row["body"]) if row["body"] else None, "latencyMs": row["latency_ms"],
            "remaining": row["remaining"]}


def list_faults(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [_fault(r) for r in conn.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY seq")]


def take_fault(tx: sqlite3.Connection, url_type: str) -> dict[str, Any] | None:
    """The oldest fault that applies to this type, used up by one."""
    row = tx.execute("SELECT * FROM faults WHERE remaining > 0 AND (request_type IS NULL OR request_type = ?)"
                     " ORDER BY seq LIMIT 1", (url_type,)).fetchone()
    if row is None:
        return None
    tx.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
    return _fault(row)


def clear_faults(tx: sqlite3.Connection) -> None:
    tx.execute("DELETE FROM faults")


# -- journal ---------------------------------------------------------------------------
def add_journal_rows(tx: sqlite3.Connection, entries: Iterable[dict[str, Any]]) -> None:
    tx.executemany("INSERT INTO journal (time, method, path, query, headers, body, status, duration_ms)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(e["time"], e["method"], e["path"], e["query"], dumps(e["headers"]), e.get("body"), e["status"],
                     e["durationMs"]) for e in entries])


def list_journal(conn: sqlite3.Connection, limit: int, path_prefix: str | None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM journal", []
    if path_prefix:
        sql, args = sql + " WHERE substr(path, 1, ?) = ?", [len(path_prefix), path_prefix]
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    out = []
    for r in rows:
        entry = {"id": r["id"], "time": r["time"], "method": r["method"], "path": r["path"], "query": r["query"],
                 "headers": json.loads(r["headers"]), "status": r["status"], "durationMs": r["duration_ms"]}
        if r["body"] is not None:
            try:
                entry["body"] = json.loads(r["body"])
            except ValueError:
                entry["body"] = r["body"]
        out.append(entry)
    return out
