"""`requestWorkflowEvent` payloads, shaped exactly as Capillary's documented events."""
from __future__ import annotations

import uuid
from typing import Any

from capillary_contract.types import RequestType
from capillary_contract.lifecycle import PENDING


def build_event(*, org_id: int, document: dict[str, Any], rtype: RequestType, previous: str | None,
                checker_id: int | None, comment: str | None, now_ms: int) -> dict[str, Any]:
    """The event for the state `document` is now in; `previous` is None for a new request."""
    call = document["details"]["IntouchAPITask-Payload"]
    attributes: dict[str, Any] = {}
    if call.get("queryParams"):
        attributes["queryParams"] = call["queryParams"]
    attributes["body"] = call.get("body", {})
    data: dict[str, Any] = {
        "requestId": document["requestId"],
        "requestType": rtype.event_name,
        "requesterId": document["userId"],
    }
    if checker_id is not None:
        data["checkerId"] = checker_id
    data["currentRequestState"] = document["state"]
    if previous is not None:
        data["previousRequestState"] = previous
    data["updateTime"] = now_ms
    if comment is not None:
        data["comment"] = comment
    reason = rtype.event_reason_from
    body_reason = attributes["body"].get(reason) if reason and isinstance(attributes["body"], dict) else None
    if document["state"] == PENDING and isinstance(body_reason, str):
        data["reason"] = body_reason  # as in the documented status-change event (`eventReasonFrom`)
    data["requestAttributes"] = attributes
    return {
        "eventName": "requestWorkflowEvent",
        "eventId": str(uuid.uuid4()),
        "orgId": org_id,
        "refId": f"{org_id}_{document['requestId']}",
        "apiRequestId": uuid.uuid4().hex,
        "createdAt": now_ms,
        "data": data,
        "loyaltyEventId": None,
    }
