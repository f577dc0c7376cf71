"""The v2 request workflow: create, decide, read one, list.

Requests arrive here already checked against the contract (see validation.py); these
handlers only play the workflow: the transition table, the simulator, the store.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from .errors import ApiError
from .events import build_event
from capillary_contract.requests import spelling_hint
from capillary_contract.types import by_any_name
from .simulator import TIMEOUT, CallContext, Forced, Outcome, chained, forced, simulate
from .state import EXTENSION, MockState, mock_state
from .store import ListQuery, StoredRequest, Transaction
from .waiting import hand_over
from capillary_contract.lifecycle import APPROVE, APPROVED, PENDING, AUTO, CREATE, NEW, REJECT, TERMINAL, NoTransition, StepInputs, apply, transition

bp = Blueprint("workflow", __name__)


class TypeSegment(BaseConverter):
    """A segment that names no request type of the contract (those have their own rules), never
    the concrete `requests`, so `POST /requests` is 405 (only GET is there), not an unknown type."""

    regex = r"(?!requests$)[^/]+"


BASE = "/api_gateway/v2/request-workflow"
UNKNOWN_REQUEST, DECIDED, NO_PERMISSION, UNKNOWN_TYPE = 2007, 2002, 2001, 2009
MOCK_OUTCOME_HEADER = "X-Mock-Outcome"


@bp.record_once
def _type_routes(setup: BlueprintSetupState) -> None:
    """One create (POST) and one decide (PUT) rule per request type, at the path and under the
    operationId the contract gives it: a new type in the contract is served with no code here."""
    setup.app.url_map.converters.setdefault("type_segment", TypeSegment)
    for rtype in setup.app.extensions[EXTENSION].types.values():
        setup.add_url_rule(rtype.path, rtype.create_operation_id, create_request, methods=["POST"])
        setup.add_url_rule(rtype.path, rtype.decide_operation_id, decide_request, methods=["PUT"])


def _request_type(state: MockState) -> Any:
    """The type whose operation this request called."""
    return state.types[state.contract.workflow_role(g.checked.operation.operation_id)[1]]


@bp.route(f"{BASE}/<type_segment:requestType>", methods=["POST", "PUT"])
def unknown_type(requestType: str) -> Any:
    """A segment that is no type's path: 2009, naming the URL's spelling when it is one spelt otherwise."""
    hint = spelling_hint(requestType, mock_state().types, "URL")
    raise ApiError.of(400, UNKNOWN_TYPE, "requestType", hint or "not one of the supported types")


_node = (-1, 0, 0)  # (pid, node, clock sequence) of the process that chose them
_id_lock = threading.Lock()  # uuid1's own "last timestamp" is not thread-safe


def new_request_id() -> str:
    """A version-1 UUID, as Capillary's request ids are, without libuuid's system-wide clock file
    (its lock and write took ~20 us of each create under load). Each process takes a random
    node (multicast bit set, as RFC 4122 asks of a node that is not a MAC address), so ids of
    different gunicorn workers never collide; within a process uuid1 keeps them increasing. The node
    and the clock sequence come from os.urandom, not the `random` module: uuid1 drew its clock
    sequence from the global generator, which Hypothesis reports when a fuzzer in the same process
    (a test's in-process mock) draws meanwhile."""
    global _node
    with _id_lock:
        if _node[0] != os.getpid():
            bits = int.from_bytes(os.urandom(8), "big")
            _node = (os.getpid(), (bits >> 16) | (1 << 40), bits & 0x3FFF)
        return str(uuid.uuid1(node=_node[1], clock_seq=_node[2]))


def create_request() -> Any:
    state, checked = mock_state(), g.checked
    rtype = _request_type(state)
    user, org_id = checked.user, checked.org_id
    call = checked.body["payload"]["IntouchAPITask-Payload"]
    now = state.now()
    document = {"requestId": new_request_id(), "userId": user.user_id, "userName": user.email,
                "requestType": rtype.response_name, "state": NEW, "startTime": now, "endTime": None,
                "details": {"IntouchAPITask-Payload": call}}
    if user.trusted and rtype.trusted_skips_checker:
        return {"data": _auto_approve(state, document, rtype, org_id)}
    document = apply(document, transition(NEW, CREATE), StepInputs(), now)
    event = build_event(org_id=org_id, document=document, rtype=rtype, previous=None, checker_id=None,
                        comment=None, now_ms=state.now_ms())
    with state.store.transaction() as tx:
        tx.create_request(org_id, rtype.url_name, document, checked.body["entityInfo"])
        tx.publish(event, now)  # the event, and a pending delivery of it to each current subscription
    return {"data": document}


def _auto_approve(state: MockState, document: dict[str, Any], rtype: Any, org_id: int) -> dict[str, Any]:
    """A trusted integration's retro request: no checker, the wrapped call runs at once."""
    step = transition(NEW, AUTO)
    ctx = CallContext(state.contract, rtype, document["details"]["IntouchAPITask-Payload"], org_id, document["userId"])
    with state.store.transaction() as tx:
        outcome = simulate(ctx, tx)
        if outcome.remember:
            tx.remember_reference(org_id, *outcome.remember)
        now = state.now()
        document = apply(document, step, StepInputs(None, outcome.output, outcome.succeeded), now)
        event = build_event(org_id=org_id, document=document, rtype=rtype, previous=PENDING, checker_id=None,
                            comment=None, now_ms=state.now_ms())
        tx.create_request(org_id, rtype.url_name, document, g.checked.body["entityInfo"])
        tx.publish(event, now)  # the event, and a pending delivery of it to each current subscription
    return document


def decide_request() -> Any:
    state, checked = mock_state(), g.checked
    rtype = _request_type(state)
    header = request.headers.get(MOCK_OUTCOME_HEADER)
    if header is not None and not state.admin.component_validator("MockOutcome").is_valid(header):
        raise ApiError.of(400, None, MOCK_OUTCOME_HEADER, f"{header[:40]!r} is not success, failure or timeout")
    user, org_id = checked.user, checked.org_id
    request_id = checked.body["requestId"]
    decision = checked.body["payload"]["AdminTask-Payload"]
    action = APPROVE if decision["actionDecision"] == APPROVED else REJECT
    with state.store.transaction() as tx:
        stored = tx.get_request(org_id, request_id)
        if stored is None or stored.url_type != rtype.url_name:
            raise ApiError.of(404, UNKNOWN_REQUEST, "requestId", "no such request of this type in the organisation")
        if stored.state in TERMINAL or stored.claimed:
            raise _decided_elsewhere(stored)
        if stored.maker_id == user.user_id:
            raise ApiError.of(403, NO_PERMISSION, detail="the maker of a request cannot decide it")
        try:
            step = transition(stored.state, action)
        except NoTransition as exc:
            raise ApiError.of(409, DECIDED, "requestId", str(exc)) from None
        if action == REJECT:
            return {"data": _finish(state, tx, stored, None, step, StepInputs(decision), user.user_id, rtype,
                                    decision)}
        fault = _forced_outcome(tx, rtype.url_name)
        holds = _holds(state, fault)
        if not holds:  # the outcome is known now: the decision is this one write, as a rejection is
            ctx = _call_context(state, stored, rtype)
            return {"data": _record_approval(state, tx, stored, None, step, decision, user.user_id, rtype, ctx,
                                             _known_outcome(state, ctx, fault, holds))}
        # The wrapped call runs outside any transaction: the claim keeps other checkers out meanwhile.
        token = tx.claim_decision(request_id)
        if token is None:
            raise _decided_elsewhere(stored)
        hand_over()  # inline on the front's loop, the claim and the fault are rolled back here
    try:
        with state.claims.kept(token):
            return {"data": _approve(state, stored, token, step, decision, user.user_id, rtype, fault, holds)}
    except BaseException:  # a finished decision cleared its claim in the same write; an unfinished one frees it
        with state.store.transaction() as tx:
            tx.release_claim(request_id, token)
        raise


def _decided_elsewhere(stored: StoredRequest | None) -> ApiError:
    """The answer when the request is no longer this decision's to make."""
    if stored is None:
        return ApiError.of(404, UNKNOWN_REQUEST, "requestId", "no such request of this type in the organisation")
    if stored.state in TERMINAL:
        return ApiError.of(409, DECIDED, "requestId", f"the request is already {stored.document['state']}")
    return ApiError.of(409, DECIDED, "requestId", "a decision on the request is under way")


@dataclass(frozen=True)
class _Holds:
    """What an approval waits on before its outcome is known; true if anything (the decision then
    hands itself over to a thread, waiting.py). `_approve` waits on exactly these."""

    latency_s: float  # a queued fault's latency
    timeout: bool     # the wrapped call never answers: the gateway gives up after --outcome-timeout
    chain: bool       # --chain: the payload's host is really called

    def __bool__(self) -> bool:
        return bool(self.latency_s or self.timeout or self.chain)


def _holds(state: MockState, force: Forced | None) -> _Holds:
    return _Holds(latency_s=force.latency_ms / 1000 if force is not None and force.latency_ms else 0.0,
                  timeout=force is not None and force.outcome == TIMEOUT,
                  chain=state.config.chain_calls and not (force is not None and force.outcome))


def _forced_outcome(tx: Transaction, url_type: str) -> Forced | None:
    header = request.headers.get(MOCK_OUTCOME_HEADER)
    if header:
        return Forced(header)
    fault = tx.take_fault(url_type)
    if fault is None:
        return None
    return Forced(fault["outcome"], fault["status"], fault["body"], fault["latencyMs"] or 0)


def _approve(state: MockState, stored: StoredRequest, token: str, step: Any, decision: dict[str, Any],
             checker_id: int, rtype: Any, force: Forced | None, holds: _Holds) -> dict[str, Any]:
    """An approval that waits (`holds`): the waits run under the claim, outside any transaction,
    and the outcome is written in a second one."""
    ctx = _call_context(state, stored, rtype)
    if holds.latency_s:
        time.sleep(holds.latency_s)
    if holds.timeout:
        time.sleep(state.config.outcome_timeout_s)
    outcome = _known_outcome(state, ctx, force, holds)
    with state.store.transaction() as tx:
        return _record_approval(state, tx, stored, token, step, decision, checker_id, rtype, ctx, outcome)


def _call_context(state: MockState, stored: StoredRequest, rtype: Any) -> CallContext:
    return CallContext(state.contract, rtype, stored.document["details"]["IntouchAPITask-Payload"],
                       stored.org_id, stored.maker_id)


def _known_outcome(state: MockState, ctx: CallContext, force: Forced | None, holds: _Holds) -> Outcome | None:
    """The wrapped call's outcome when it does not depend on the store: forced, or the chained
    call's; None: it is simulated, inside the transaction that records it."""
    if force and force.outcome:
        return forced(ctx, force)
    if holds.chain:
        return chained(ctx, state.config.chain_timeout_s, state.config.chain_allow)
    return None


def _record_approval(state: MockState, tx: Transaction, stored: StoredRequest, token: str | None, step: Any,
                     decision: dict[str, Any], checker_id: int, rtype: Any, ctx: CallContext,
                     outcome: Outcome | None) -> dict[str, Any]:
    if outcome is None:
        outcome = simulate(ctx, tx)
    inputs = StepInputs(decision, outcome.output, outcome.succeeded)
    document = _finish(state, tx, stored, token, step, inputs, checker_id, rtype, decision)
    if outcome.remember and outcome.succeeded:
        tx.remember_reference(stored.org_id, *outcome.remember)
    return document


def _finish(state: MockState, tx: Transaction, stored: StoredRequest, token: str | None, step: Any,
            inputs: StepInputs, checker_id: int, rtype: Any, decision: dict[str, Any]) -> dict[str, Any]:
    """Write the decision only if the request still waits for a checker under this decision's
    claim (`token`; None: unclaimed): a late decision, or one on a request a reset removed, is
    refused, and leaves no event."""
    now = state.now()
    document = apply(stored.document, step, inputs, now)
    if not tx.finish_decision(stored.request_id, token, document, checker_id):
        raise _decided_elsewhere(tx.get_request(stored.org_id, stored.request_id))
    event = build_event(org_id=stored.org_id, document=document, rtype=rtype, previous=stored.state,
                        checker_id=checker_id, comment=decision["actionMessage"], now_ms=state.now_ms())
    tx.publish(event, now)  # the event, and a pending delivery of it to each current subscription
    return document


@bp.get(f"{BASE}/requests/<requestId>", endpoint="getRequest")
def get_request(requestId: str) -> Any:
    state, checked = mock_state(), g.checked
    with state.store.read() as reader:
        stored = reader.get_request(checked.org_id, checked.params["requestId"])
    if stored is None:
        raise ApiError.of(404, UNKNOWN_REQUEST, "requestId", "no such request in the organisation")
    return {"data": stored.document}


@bp.get(f"{BASE}/requests", endpoint="listRequests")
def list_requests() -> Any:
    state, checked = mock_state(), g.checked
    p = checked.params
    rtype = by_any_name(state.types, p["requestType"]) if p.get("requestType") else None
    query = ListQuery(
        org_id=checked.org_id, maker_id=p.get("userId"),
        states=tuple(p["states"].split(",")) if p.get("states") else (),
        url_type=rtype.url_name if rtype else None,
        entity=tuple((k, p[k]) for k in ("conceptId", "zoneId", "storeId", "tillId") if p.get(k)),
        start_date=p.get("startDate"), end_date=p.get("endDate"),
        sort_by=p.get("sortBy"), sort_order=p.get("sortOrder") or "desc",
        limit=p.get("limit", 10), page=p.get("PageNo", 0))
    with state.store.read() as reader:
        data, pagination = reader.list_requests(query)
    return {"data": data, "pagination": pagination}
