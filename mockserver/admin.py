"""The mock's control API under /__admin/: health, reset, journal, events, subscriptions, faults."""
from __future__ import annotations

import json
import os
import uuid
from typing import Any

from flask import Blueprint, Response, g

from . import repository as repo
from .state import mock_state

bp = Blueprint("admin", __name__)
VERSION = "0.1.0"


@bp.get("/__admin/health", endpoint="adminHealth")
def health() -> Any:
    state = mock_state()
    with state.store.read() as conn:
        count = repo.count_requests(conn)
    return {"status": "ok", "version": VERSION, "storage": state.store.location, "requests": count, "pid": os.getpid()}


@bp.post("/__admin/reset", endpoint="adminReset")
def reset() -> Any:
    mock_state().store.reset()
    return {"reset": True}


@bp.get("/__admin/journal", endpoint="adminJournal")
def journal() -> Any:
    p = g.checked.params
    with mock_state().store.read() as conn:
        return {"entries": repo.list_journal(conn, p.get("limit", 100), p.get("path"))}


def event_view(row: dict[str, Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry of `GET /__admin/events` (served by the webhooks package, which owns deliveries)."""
    return {"eventId": row["event_id"], "requestId": row["request_id"], "state": row["state"],
            "createdAt": row["created_at"], "event": json.loads(row["payload"]), "deliveries": deliveries}


@bp.get("/__admin/subscriptions", endpoint="adminListSubscriptions")
def list_subscriptions() -> Any:
    with mock_state().store.read() as conn:
        rows = conn.execute("SELECT * FROM subscriptions ORDER BY created_seq, id").fetchall()
    return {"subscriptions": [{"id": r["id"], "url": r["url"], "headers": json.loads(r["headers"]),
                               "origin": r["origin"]} for r in rows]}


@bp.post("/__admin/subscriptions", endpoint="adminAddSubscription")
def add_subscription() -> Any:
    body = g.checked.body
    sub = {"id": uuid.uuid4().hex[:12], "url": body["url"], "headers": body.get("headers", {}), "origin": "runtime"}
    with mock_state().store.transaction() as tx:
        tx.execute("INSERT INTO subscriptions (id, url, headers, origin, created_seq) VALUES (?, ?, ?, ?, ?)",
                   (sub["id"], sub["url"], repo.dumps(sub["headers"]), sub["origin"], _next_event_seq(tx)))
    return sub, 201


def _next_event_seq(tx: Any) -> int:
    """Subscriptions are ordered by the outbox position at which they started receiving."""
    return tx.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]


@bp.get("/__admin/faults", endpoint="adminListFaults")
def list_faults() -> Any:
    with mock_state().store.read() as conn:
        return {"faults": repo.list_faults(conn)}


@bp.post("/__admin/faults", endpoint="adminAddFault")
def add_fault() -> Any:
    with mock_state().store.transaction() as tx:
        return repo.add_fault(tx, g.checked.body), 201


@bp.delete("/__admin/faults", endpoint="adminClearFaults")
def clear_faults() -> Any:
    with mock_state().store.transaction() as tx:
        repo.clear_faults(tx)
    return {"faults": []}


@bp.get("/openapi.yaml", endpoint="getContract")
def contract_file() -> Any:
    with open(mock_state().contract.source, "rb") as handle:
        return Response(handle.read(), mimetype="application/yaml")
