"""`GET /__admin/events` with deliveries, and `waitFor` + `timeout` that block until the
event (or every listed event) is delivered or given up on, so tests need no sleeps.

The route's endpoint is the operationId, so the request is checked against openapi.yaml first;
an event's own shape is the admin module's `event_view`.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Flask, g

from ..admin import event_view
from ..state import mock_state
from ..store import Store
from ..waiting import hand_over

ENDPOINT = "adminEvents"
DEFAULT_TIMEOUT_S = 5.0
FIRST_POLL_S, MAX_POLL_S = 0.005, 0.05


def install(app: Flask) -> None:
    app.add_url_rule("/__admin/events", endpoint=ENDPOINT, view_func=events, methods=["GET"])


def events() -> Any:
    params, store = g.checked.params, mock_state().store
    request_id, wait_for = params.get("requestId"), params.get("waitFor")
    answer: dict[str, Any] = {}
    if wait_for:
        hand_over()  # the poll waits: not on the front's loop
        answer["timedOut"] = not _wait(store, wait_for, request_id, float(params.get("timeout", DEFAULT_TIMEOUT_S)))
    with store.read() as reader:
        stored = reader.list_events(request_id)
        deliveries = reader.deliveries_by_event([e.event_id for e in stored])
    return {"events": [event_view(e, deliveries[e.event_id]) for e in stored], **answer}


def delivery_health(store: Store, dispatch_expected: bool) -> dict[str, Any]:
    """What `GET /__admin/health` says of webhooks: is a dispatcher alive (it holds the lease and
    renews it every second), and what waits in the outbox; `degraded`: deliveries wait, one should
    run and none does (a mock just started, whose dispatcher is taking its lease, is not degraded)."""
    now = time.time()
    with store.read() as reader:
        holder = reader.lease_holder()
        pending, earliest = reader.backlog()
    alive = holder is not None and holder[1] > now
    return {
        "degraded": dispatch_expected and not alive and pending > 0,
        "dispatcher": {"alive": alive, "owner": holder[0] if alive else None},
        "outbox": {"pending": pending, "overdueSeconds": round(max(0.0, now - earliest), 3) if earliest else 0.0},
    }


def _wait(store: Store, wait_for: str, request_id: str | None, timeout_s: float) -> bool:
    """True once settled; False if `timeout_s` ran out first."""
    deadline, pause = time.monotonic() + timeout_s, FIRST_POLL_S
    while True:
        with store.read() as reader:
            if reader.settled(wait_for, request_id):
                return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, MAX_POLL_S)
