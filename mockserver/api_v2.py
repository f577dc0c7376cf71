"""The v2 request workflow: create, decide, read one, list.

Requests arrive here already checked against the contract (see validation.py); these
handlers only play the workflow: the transition table, the simulator, the store.
"""
from __future__ import annotations

import os
import random
import threading
import time
import uuid
from typing import Any

from flask import Blueprint, g, request
from werkzeug.routing import BaseConverter

from . import repository as repo
from .errors import ApiError
from .events import build_event
from capillary_contract.types import by_any_name
from .simulator import CallContext, Forced, chained, forced, simulate
from .state import MockState, mock_state
from capillary_contract.lifecycle import APPROVE, AUTO, CREATE, NEW, REJECT, TERMINAL, NoTransition, StepInputs, apply, transition

bp = Blueprint("workflow", __name__)


class TypeSegment(BaseConverter):
    """A `{requestType}` segment, never the concrete `requests`: OpenAPI matches a concrete path
    before a templated one, so `POST /requests` is 405 (only GET is there), not an unknown type."""

    regex = r"(?!requests$)[^/]+"


bp.record_once(lambda setup: setup.app.url_map.converters.setdefault("type_segment", TypeSegment))
BASE = "/api_gateway/v2/request-workflow"
UNKNOWN_REQUEST, DECIDED, NO_PERMISSION = 2007, 2002, 2001


_node = (-1, 0)  # (pid, node) of the process that chose the node
_id_lock = threading.Lock()  # uuid1's own "last timestamp" is not thread-safe


def new_request_id() -> str:
    """A version-1 UUID, as Capillary's request ids are, without libuuid's system-wide clock file
    (its lock and write took ~20 us of each create under load). Each process takes a random
    node (multicast bit set, as RFC 4122 asks of a node that is not a MAC address), so ids of
    different gunicorn workers never collide; within a process uuid1 keeps them increasing."""
    global _node
    with _id_lock:
        if _node[0] != os.getpid():
            _node = (os.getpid(), random.getrandbits(48) | (1 << 40))
        return str(uuid.uuid1(node=_node[1]))


@bp.post(f"{BASE}/<type_segment:requestType>", endpoint="createRequest")
def create_request(requestType: str) -> Any:
    state, checked = mock_state(), g.checked
    rtype = state.types[checked.params["requestType"]]
    user, org_id = checked.user, checked.org_id
    call = checked.body["payload"]["IntouchAPITask-Payload"]
    now = state.now()
    document = {"requestId": new_request_id(), "userId": user.user_id, "userName": user.email,
                "requestType": rtype.response_name, "state": NEW, "startTime": now, "endTime": None,
                "details": {"IntouchAPITask-Payload": call}}
    if user.trusted and rtype.url_name == "RETRO-TRANSACTION":
        return {"data": _auto_approve(state, document, rtype, org_id)}
    document = apply(document, transition(NEW, CREATE), StepInputs(), now)
    event = build_event(org_id=org_id, document=document, rtype=rtype, previous=None, checker_id=None,
                        comment=None, now_ms=state.now_ms())
    with state.store.transaction() as tx:
        repo.insert_request(tx, org_id, rtype.url_name, document, checked.body["entityInfo"])
        repo.add_event(tx, event, now)
    return {"data": document}


def _auto_approve(state: MockState, document: dict[str, Any], rtype: Any, org_id: int) -> dict[str, Any]:
    """A trusted integration's retro request: no checker, the wrapped call runs at once."""
    step = transition(NEW, AUTO)
    ctx = CallContext(state.contract, rtype, document["details"]["IntouchAPITask-Payload"], org_id, document["userId"])
    with state.store.transaction() as tx:
        outcome = simulate(ctx, tx)
        if outcome.remember:
            repo.remember_reference(tx, org_id, *outcome.remember)
        now = state.now()
        document = apply(document, step, StepInputs(None, outcome.output, outcome.succeeded), now)
        event = build_event(org_id=org_id, document=document, rtype=rtype, previous="AdminTask", checker_id=None,
                            comment=None, now_ms=state.now_ms())
        repo.insert_request(tx, org_id, rtype.url_name, document, g.checked.body["entityInfo"])
        repo.add_event(tx, event, now)
    return document


@bp.put(f"{BASE}/<type_segment:requestType>", endpoint="decideRequest")
def decide_request(requestType: str) -> Any:
    state, checked = mock_state(), g.checked
    rtype = state.types[checked.params["requestType"]]
    user, org_id = checked.user, checked.org_id
    request_id = checked.body["requestId"]
    decision = checked.body["payload"]["AdminTask-Payload"]
    action = APPROVE if decision["actionDecision"] == "approved" else REJECT
    with state.store.transaction() as tx:
        stored = repo.get_request(tx, org_id, request_id)
        if stored is None or stored.url_type != rtype.url_name:
            raise ApiError.of(404, UNKNOWN_REQUEST, "requestId", "no such request of this type in the organisation")
        if stored.state in TERMINAL or stored.claim:
            raise ApiError.of(409, DECIDED, "requestId", f"the request is already {stored.document['state']}"
                              if stored.state in TERMINAL else "a decision on the request is under way")
        if stored.maker_id == user.user_id:
            raise ApiError.of(403, NO_PERMISSION, detail="the maker of a request cannot decide it")
        try:
            step = transition(stored.state, action)
        except NoTransition as exc:
            raise ApiError.of(409, DECIDED, "requestId", str(exc)) from None
        if action == REJECT:
            return {"data": _finish(state, tx, stored, step, StepInputs(decision), user.user_id, rtype, decision)}
        repo.claim_request(tx, request_id, {"checker": user.user_id, "at": state.now()})
        fault = _forced_outcome(tx, rtype.url_name)
    try:
        return {"data": _approve(state, stored, step, decision, user.user_id, rtype, fault)}
    except BaseException:
        with state.store.transaction() as tx:
            repo.release_claim(tx, request_id)
        raise


def _forced_outcome(tx: Any, url_type: str) -> Forced | None:
    header = request.headers.get("X-Mock-Outcome")
    if header:
        return Forced(header)
    fault = repo.take_fault(tx, url_type)
    if fault is None:
        return None
    return Forced(fault["outcome"], fault["status"], fault["body"], fault["latencyMs"] or 0)


def _approve(state: MockState, stored: repo.StoredRequest, step: Any, decision: dict[str, Any], checker_id: int,
             rtype: Any, force: Forced | None) -> dict[str, Any]:
    ctx = CallContext(state.contract, rtype, stored.document["details"]["IntouchAPITask-Payload"],
                      stored.org_id, stored.maker_id)
    if force and force.latency_ms:
        time.sleep(force.latency_ms / 1000)
    outcome = None
    if force and force.outcome:
        outcome = forced(ctx, force)
    elif state.config.chain_calls:
        outcome = chained(ctx, state.config.chain_timeout_s)
    with state.store.transaction() as tx:
        if outcome is None:
            outcome = simulate(ctx, tx)
        if outcome.remember and outcome.succeeded:
            repo.remember_reference(tx, stored.org_id, *outcome.remember)
        inputs = StepInputs(decision, outcome.output, outcome.succeeded)
        return _finish(state, tx, stored, step, inputs, checker_id, rtype, decision)


def _finish(state: MockState, tx: Any, stored: repo.StoredRequest, step: Any, inputs: StepInputs,
            checker_id: int, rtype: Any, decision: dict[str, Any]) -> dict[str, Any]:
    now = state.now()
    document = apply(stored.document, step, inputs, now)
    event = build_event(org_id=stored.org_id, document=document, rtype=rtype, previous=stored.state,
                        checker_id=checker_id, comment=decision["actionMessage"], now_ms=state.now_ms())
    repo.finish_request(tx, stored.request_id, document, checker_id)
    repo.add_event(tx, event, now)
    return document


@bp.get(f"{BASE}/requests/<requestId>", endpoint="getRequest")
def get_request(requestId: str) -> Any:
    state, checked = mock_state(), g.checked
    with state.store.read() as conn:
        stored = repo.get_request(conn, checked.org_id, checked.params["requestId"])
    if stored is None:
        raise ApiError.of(404, UNKNOWN_REQUEST, "requestId", "no such request in the organisation")
    return {"data": stored.document}


@bp.get(f"{BASE}/requests", endpoint="listRequests")
def list_requests() -> Any:
    state, checked = mock_state(), g.checked
    p = checked.params
    rtype = by_any_name(state.types, p["requestType"]) if p.get("requestType") else None
    query = repo.ListQuery(
        org_id=checked.org_id, maker_id=p.get("userId"),
        states=tuple(p["states"].split(",")) if p.get("states") else (),
        url_type=rtype.url_name if rtype else None,
        entity=tuple((k, p[k]) for k in ("conceptId", "zoneId", "storeId", "tillId") if p.get(k)),
        start_date=p.get("startDate"), end_date=p.get("endDate"),
        sort_by=p.get("sortBy"), sort_order=p.get("sortOrder") or "desc",
        limit=p.get("limit", 10), page=p.get("PageNo", 0))
    with state.store.read() as conn:
        data, pagination = repo.list_requests(conn, query)
    return {"data": data, "pagination": pagination}
