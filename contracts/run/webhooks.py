"""Webhook conformance: a receiver on 127.0.0.1:PORT that collects the target's events, checks
each against `webhooks.requestWorkflowEvent`, and the states per request against what the run did.

When the target is the mock it registers itself through `POST /__admin/subscriptions`; any
other target must be configured to send to the receiver.
"""
from __future__ import annotations

import json
import time
from typing import Any

from capillary_contract.receiver import Receiver

from capillary_contract.lifecycle import PENDING

from .context import RunContext

PHASE = "webhooks"


def register_with_mock(ctx: RunContext, receiver: Receiver) -> bool:
    """Subscribe the receiver when the target is the mock (it answers `/__admin/health`)."""
    session = ctx.session()
    base = ctx.base_url.rstrip("/")
    try:
        health = session.get(base + "/__admin/health", timeout=3)
        if health.status_code != 200 or (health.json() or {}).get("status") != "ok":
            return False
        added = session.post(base + "/__admin/subscriptions", json={"url": receiver.url}, timeout=5)
    except Exception:
        return False
    return added.status_code == 201


ADMIN_WAIT_LIMIT_S = 10.0  # the admin document's maximum `timeout` of one `GET /__admin/events`


def _wait_for_mock_deliveries(ctx: RunContext, timeout: float) -> None:
    if not ctx.is_mock:  # the admin API is the mock's own
        return
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            wait = min(left, ADMIN_WAIT_LIMIT_S)
            answer = ctx.session().get(ctx.base_url.rstrip("/") + "/__admin/events",
                                       params={"waitFor": "all", "timeout": round(wait, 3)}, timeout=wait + 5)
            if answer.status_code != 200 or not (answer.json() or {}).get("timedOut"):
                return
    except Exception:
        pass


def _sequences(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    unique = {e.get("eventId"): e for e in events}
    by_request: dict[str, list[dict[str, Any]]] = {}
    for event in unique.values():
        data = event.get("data") or {}
        by_request.setdefault(str(data.get("requestId")), []).append(event)
    for seq in by_request.values():
        seq.sort(key=lambda e: ((e.get("data") or {}).get("updateTime") or 0, e.get("createdAt") or 0))
    return by_request


def event_problems(data: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """What the contract's description of the event implies, against what the run sent:
    `requestAttributes` are the wrapped call's `queryParams` (when it has any) and `body`;
    `checkerId` and `comment` (the checker's message) appear once a checker acted."""
    problems = []
    wrapped = sent.get("wrapped")
    attributes = data.get("requestAttributes") or {}
    if isinstance(wrapped, dict):
        if attributes.get("body") != wrapped.get("body"):
            problems.append(f"request {data['requestId']}: requestAttributes.body is not the wrapped call's body")
        if wrapped.get("queryParams") and attributes.get("queryParams") != wrapped["queryParams"]:
            problems.append(f"request {data['requestId']}: requestAttributes.queryParams are not the wrapped call's")
    if data.get("currentRequestState") != PENDING and sent.get("comment"):
        if "checkerId" not in data:
            problems.append(f"request {data['requestId']}: a {data.get('currentRequestState')} event without checkerId")
        if data.get("comment") != sent["comment"]:
            problems.append(f"request {data['requestId']}: comment {data.get('comment')!r}; the checker wrote "
                            f"{sent['comment']!r}")
    return problems


def verify(ctx: RunContext, receiver: Receiver, timeout: float = 10.0) -> None:
    """Check every event received, then each request's state sequence against the run's record."""
    started = time.monotonic()
    _wait_for_mock_deliveries(ctx, timeout)
    expected = {rid: states for rid, states in ctx.trajectories.items() if states}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # bounded: deliveries are asynchronous
        seqs = _sequences([a.body for a in receiver.arrivals() if a.is_json])
        if all(len(seqs.get(rid, [])) >= len(states) for rid, states in expected.items()):
            break
        time.sleep(0.1)
    validator = ctx.contract.webhook().body
    arrivals = receiver.arrivals()
    events = [a.body for a in arrivals if a.is_json]
    rule = "every event fits webhooks.requestWorkflowEvent"
    for raw in (a.body[:200] for a in arrivals if not a.is_json):
        ctx.fail(PHASE, "webhook_schema", rule, "POST (webhook)", f"an event that is not JSON: {raw!r}")
    for check in ("webhook_schema", "webhook_fields", "webhook_sequence"):
        ctx.report.passed(PHASE, check, "POST (webhook)")
    for event in events:
        ctx.report.count(PHASE)
        if ctx.coverage is not None:
            ctx.coverage.observe_event(event)
        violations = validator.violations(event)
        if violations:
            text = "; ".join(f"{v.field}: {v.detail}" for v in violations[:5])
            ctx.fail(PHASE, "webhook_schema", rule, "POST (webhook)", f"{text}\nevent: {json.dumps(event)[:800]}")
            continue
        data = event["data"]
        if event["refId"] != f"{event['orgId']}_{data['requestId']}":
            ctx.fail(PHASE, "webhook_fields", "refId is <orgId>_<requestId>", "POST (webhook)",
                     f"refId {event['refId']!r} for org {event['orgId']} request {data['requestId']}")
        url_name = ctx.created.get(data["requestId"])
        if url_name and ctx.contract.request_types[url_name]["eventName"] != data["requestType"]:
            ctx.fail(PHASE, "webhook_fields", "requestType is UPPER_SNAKE in events", "POST (webhook)",
                     f"requestType {data['requestType']!r} for a {url_name} request")
        for problem in event_problems(data, ctx.sent.get(data["requestId"], {})):
            ctx.fail(PHASE, "webhook_fields", "an event carries the wrapped call and the checker's decision",
                     "POST (webhook)", problem)
    seqs = _sequences(events)
    for rid, states in expected.items():
        got = [(e.get("data") or {}).get("currentRequestState") for e in seqs.get(rid, [])]
        previous = [(e.get("data") or {}).get("previousRequestState") for e in seqs.get(rid, [])]
        if got != states:
            ctx.fail(PHASE, "webhook_sequence", "one event per state change, in the order the run caused them",
                     "POST (webhook)", f"request {rid} ({ctx.created.get(rid)}): events say {got}; the run saw {states}")
        elif previous[1:] != got[:-1]:
            ctx.fail(PHASE, "webhook_sequence", "previousRequestState names the state before",
                     "POST (webhook)", f"request {rid}: previous states {previous} for states {got}")
    if not events and expected:
        ctx.report.notes.append("webhooks: no events arrived")
    ctx.report.phase(PHASE).seconds += time.monotonic() - started
