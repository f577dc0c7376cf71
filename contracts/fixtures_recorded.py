"""Lifecycle transcripts recorded from the in-process mock, made deterministic.

The calls of a spec-built transcript are played against `mockserver.app.create_app` (an
in-memory store, no webhook dispatch) through Flask's test client; the answers and the
events the mock recorded (`GET /__admin/events`) become the transcript. What the mock takes
from the clock or from uuid (request ids, start/end times, event ids and times, the wrapped
call's Date and request-id headers) is then replaced by values from the seed, everywhere it
appears, so the same seed still gives byte-identical files.
"""
from __future__ import annotations

import json
from typing import Any

from capillary_contract.loader import Contract
from contracts.fixtures_lifecycle import Clock, synthetic_transcript

CLOCK_HEADERS = ("Date",)
ID_HEADERS = ("X-CAP-REQUEST-ID", "X-Cap-RequestID")


class MockRecorder:
    """One in-process mock for a whole generation run; a transcript maker for `generate`."""

    def __init__(self) -> None:
        from mockserver.app import create_app
        from mockserver.config import MockConfig

        self.app = create_app(MockConfig(db=":memory:", dispatch=False))
        self.client = self.app.test_client()

    def close(self) -> None:
        self.app.extensions["mockserver"].store.close()

    def __call__(self, contract: Contract, rtype: str, outcome: str, body: dict[str, Any], seed: int) -> dict[str, Any]:
        script = synthetic_transcript(contract, rtype, outcome, body, seed)
        scripted_id = script["steps"][0]["response"]["body"]["data"]["requestId"]
        steps, request_id = [], None
        for step in script["steps"]:
            sent = json.loads(json.dumps(step["request"]))
            if request_id is not None:
                sent["path"] = sent["path"].replace(scripted_id, request_id)
                if isinstance(sent["body"], dict) and "requestId" in sent["body"]:
                    sent["body"]["requestId"] = request_id
            answer = self.client.open(sent["path"], method=sent["method"], headers=sent["headers"],
                                      json=sent["body"] if sent["body"] is not None else None)
            data = answer.get_json()
            if answer.status_code != 200:
                raise ValueError(f"mock refused {rtype}/{outcome} {step['step']}: {answer.status_code} {data}")
            request_id = request_id or data["data"]["requestId"]
            steps.append({**step, "request": sent, "response": {"status": answer.status_code, "body": data}})
        listed = self.client.get("/__admin/events", query_string={"requestId": request_id}).get_json()
        events = [row["event"] for row in listed["events"]]
        transcript = {**script, "source": "recorded from the in-process mock", "steps": steps, "events": events}
        return _seeded(transcript, request_id, Clock(seed, rtype, outcome))


def _seeded(transcript: dict[str, Any], request_id: str, clock: Clock) -> dict[str, Any]:
    """The transcript with every clock- or uuid-derived value replaced by one from the seed.

    Ids are random, so each is replaced wherever it appears; times may repeat (two steps in one
    millisecond), so they are set by position: start, end, each event in order.
    """
    ids: dict[str, str] = {request_id: clock.uuid(version=1)}
    started, started_ms = clock.local(), clock.millis()
    clock.tick()
    ended, ended_ms, date = clock.local(), clock.millis(), clock.http_date()
    for step in transcript["steps"]:
        headers = step["response"]["body"]["data"]["details"].get("IntouchAPITask_Output", {}).get("headers", {})
        for name in ID_HEADERS:
            for value in headers.get(name, []):
                ids.setdefault(value, clock.hex())
    for event in transcript["events"]:
        ids.setdefault(event["eventId"], clock.uuid())
        ids.setdefault(event["apiRequestId"], clock.hex())
    seeded = replace_ids(transcript, ids)
    for step in seeded["steps"]:
        data = step["response"]["body"]["data"]
        data["startTime"] = started
        if data.get("endTime") is not None:
            data["endTime"] = ended
        headers = data["details"].get("IntouchAPITask_Output", {}).get("headers", {})
        for name in CLOCK_HEADERS:
            if name in headers:
                headers[name] = [date for _ in headers[name]]
    for index, event in enumerate(seeded["events"]):
        event["createdAt"] = event["data"]["updateTime"] = started_ms if index == 0 else ended_ms
    return seeded


def replace_ids(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: replace_ids(v, ids) for k, v in node.items()}
    if isinstance(node, list):
        return [replace_ids(v, ids) for v in node]
    if isinstance(node, str):
        for old, new in ids.items():
            if old in node:
                node = node.replace(old, new)
    return node
