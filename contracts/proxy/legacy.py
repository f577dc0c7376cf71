"""Lifecycle rules for v1.1 requests: each id followed across add, approve, reject and get.

A v1.1 request is `PENDING` until a checker approves or rejects it (the `status` enum of
`LegacyRecord` in openapi.yaml); both decisions are final. The proxy holds each sighting to
that: one decision, never by the user who added it, a decided status that stays. As for v2,
only the `limit` most recently seen ids are kept, and only what a sighting proves is reported.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .conformance import Judgement, legacy_items
from .exchange import Exchange

PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"  # LegacyRecord.status in openapi.yaml
DECIDED_BY = {"approveLegacyRequests": APPROVED, "rejectLegacyRequests": REJECTED}
ADDED_BY = "addLegacyRequests"


@dataclass
class LegacyTracked:
    status: str
    adder: str | None     # a caller key (never a credential), when the proxy saw the add
    decisions: int = 0


class LegacyTracker:
    def __init__(self, limit: int):
        self.limit = limit
        self.requests: OrderedDict[str, LegacyTracked] = OrderedDict()

    def observe(self, operation_id: str, exchange: Exchange, answer: Any, caller: str | None,
                judgement: Judgement) -> None:
        items = [i for i in legacy_items(answer) if isinstance(i.get("id"), str) and i.get("id")]
        for item in items:
            ok = (item.get("item_status") or {}).get("success") == "true"
            if operation_id == ADDED_BY:
                if ok:
                    self._remember(item["id"], str(item.get("status")), adder=caller)
            elif operation_id in DECIDED_BY:
                self._decided(item, ok, DECIDED_BY[operation_id], caller, exchange, judgement)
            else:
                self._sighting(item, judgement)

    def _decided(self, item: dict[str, Any], ok: bool, outcome: str, caller: str | None, exchange: Exchange,
                 judgement: Judgement) -> None:
        request_id = item["id"]
        tracked = self.requests.get(request_id)
        if tracked is None:
            if ok:
                self._remember(request_id, str(item.get("status")), adder=None, decided=True)
            return
        judgement.check("decided_once")
        if ok and (tracked.status != PENDING or tracked.decisions):
            judgement.fail("decided_once", f"v1.1 request {request_id}, already {tracked.status}, was decided again "
                                           f"(item answered success, status {item.get('status')!r})", request_id)
        if tracked.adder is not None:
            judgement.check("maker_is_not_checker")
            if ok and tracked.adder == caller:
                judgement.fail("maker_is_not_checker", f"the user who added v1.1 request {request_id} had their own "
                                                       f"decision answered success", request_id)
        if ok:
            judgement.check("allowed_transition")
            if tracked.status == PENDING and item.get("status") != outcome:
                judgement.fail("allowed_transition", f"v1.1 request {request_id} went {PENDING} -> "
                                                     f"{item.get('status')!r} on a decision that makes it {outcome}",
                               request_id)
            self._remember(request_id, str(item.get("status")), adder=tracked.adder, decided=True)

    def _sighting(self, item: dict[str, Any], judgement: Judgement) -> None:
        request_id, status = item["id"], str(item.get("status"))
        tracked = self.requests.get(request_id)
        if tracked is None:
            self._remember(request_id, status, adder=None)
            return
        if tracked.status != PENDING:
            judgement.check("terminal_state_stays")
            if status != tracked.status:
                judgement.fail("terminal_state_stays", f"v1.1 request {request_id} was {tracked.status} and now "
                                                       f"shows {status!r}", request_id)
            self.requests.move_to_end(request_id)
            return
        judgement.check("allowed_transition")
        if status not in (PENDING, APPROVED, REJECTED):
            judgement.fail("allowed_transition", f"v1.1 request {request_id} went {PENDING} -> {status!r}", request_id)
        self._remember(request_id, status, adder=tracked.adder)

    def _remember(self, request_id: str, status: str, adder: str | None, decided: bool = False) -> None:
        old = self.requests.pop(request_id, None)
        self.requests[request_id] = LegacyTracked(
            status, adder if old is None or old.adder is None else old.adder,
            (old.decisions if old else 0) + int(decided))
        while len(self.requests) > self.limit:
            self.requests.popitem(last=False)
