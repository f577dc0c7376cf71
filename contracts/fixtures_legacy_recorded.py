"""v1.1 fixtures recorded from the in-process mock, and the replay that checks them on a live one.

`play` sends a fixture's steps through any transport (Flask's test client while generating, a
real HTTP server in the tests) and returns the answers. The ids the mock gives the requests an
add step adds are bound, in order, to the fixture's seeded placeholder ids: decisions are sent
with the live ids, and answers come back with the placeholders, so the same seed gives the same
bytes and any mock that starts empty (or with `--examples`, for the seed's approvals) answers
exactly what the fixture records.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from capillary_contract.loader import Contract
from contracts.fixtures_legacy import OPERATIONS, Labels, Script
from contracts.fixtures_lifecycle import CHECKER, MAKER, basic
from contracts.fixtures_recorded import replace_ids

# (method, path, query, headers, body) -> (HTTP status, JSON answer)
Send = Callable[[str, str, dict, dict, Any], tuple[int, Any]]
FORMAT = {"format": "json"}
REPLAY = ("Play the steps in order against a mock with no v1.1 requests (freshly started, or after "
          "POST /__admin/reset; with `--examples` when `mock.examples` is true). Ids in `ids` stand for the ids "
          "the add steps' answers give, in order: send your mock's ids where a later step names them.")


def headers(verb: str) -> dict[str, str]:
    identity = MAKER if verb == "add" else CHECKER
    return {"Authorization": basic(identity), "Content-Type": "application/json"}


def script_steps(contract: Contract, script: Script) -> list[dict[str, Any]]:
    """The steps of a script as a fixture writes them (requests only)."""
    steps = []
    for step in script.steps:
        op = contract.operations[OPERATIONS[step.verb]]
        steps.append({"step": step.verb, "as": "maker" if step.verb == "add" else "checker",
                      "operationId": op.operation_id,
                      "request": {"method": op.method.upper(), "path": op.path, "query": {**FORMAT, **step.query},
                                  "headers": headers(step.verb), "body": step.body}})
    return steps


def _items(answer: Any) -> list[dict[str, Any]]:
    requests = answer.get("response", {}).get("requests", {}) if isinstance(answer, dict) else {}
    return requests.get("request", []) if isinstance(requests, dict) else []


def _bind(body: Any, live: dict[str, str]) -> Any:
    """The decision body with each placeholder id replaced by its live id (item `id`s only)."""
    items = body.get("root", {}).get("request") if isinstance(body, dict) and isinstance(body.get("root"), dict) else None
    if not isinstance(items, list) or not live:
        return body
    bound = json.loads(json.dumps(body))
    for item in bound["root"]["request"]:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in live:
            item["id"] = live[item["id"]]
    return bound


def play(steps: list[dict[str, Any]], ids: list[str], send: Send) -> list[tuple[int, Any]]:
    """Send every step; answers with live ids turned back into the fixture's placeholders."""
    live: dict[str, str] = {}  # placeholder -> live id
    answers = []
    for step in steps:
        sent = step["request"]
        body = _bind(sent["body"], live) if step["step"] != "add" else sent["body"]
        status, answer = send(sent["method"], sent["path"], sent["query"], sent["headers"], body)
        if step["step"] == "add":
            for item in _items(answer):
                if item.get("item_status", {}).get("success") == "true" and len(live) < len(ids):
                    live[ids[len(live)]] = item["id"]
        answers.append((status, replace_ids(answer, {v: k for k, v in live.items()})))
    return answers


def outcome(answer: tuple[int, Any]) -> dict[str, Any]:
    """The label an answer earns: HTTP status, batch status code, item codes."""
    status, body = answer
    code = body.get("response", {}).get("status", {}).get("code") if isinstance(body, dict) else None
    return {"status": status, "code": code, "items": [i.get("item_status", {}).get("code") for i in _items(body)]}


class LegacyRecorder:
    """Plays scripts against in-process mocks: one reset between scripts, a fresh `--examples`
    mock for each seed approval (they decide the same documented requests)."""

    def __init__(self) -> None:
        self.app = self._app(examples=False)

    @staticmethod
    def _app(examples: bool) -> Any:
        from mockserver.app import create_app
        from mockserver.config import MockConfig
        return create_app(MockConfig(db=":memory:", dispatch=False, examples=examples, journal=False))

    def close(self) -> None:
        self.app.extensions["mockserver"].store.close()

    def record(self, contract: Contract, script: Script) -> dict[str, Any]:
        """The fixture of one script, after checking the mock answered what the spec labels."""
        app = self._app(examples=True) if script.examples else self.app
        client = app.test_client()
        try:
            if not script.examples and client.post("/__admin/reset").status_code != 200:
                raise ValueError("the in-process mock refused /__admin/reset")

            def send(method: str, path: str, query: dict, head: dict, body: Any) -> tuple[int, Any]:
                answer = client.open(path, method=method, query_string=query, headers=head, json=body)
                return answer.status_code, answer.get_json()

            # Sent as the file will hold them (sorted keys): the mock's details quote bodies in key order.
            steps = json.loads(json.dumps(script_steps(contract, script), sort_keys=True))
            answers = play(steps, script.ids, send)
        finally:
            if app is not self.app:
                app.extensions["mockserver"].store.close()
        for step, answer in zip(steps, answers):
            step["response"] = {"status": answer[0], "body": answer[1]}
        _check(contract, script, steps, answers)
        fixture = {"operationId": script.operation_id, "name": script.name, "source": script.source,
                   "mock": {"examples": script.examples}, "replay": REPLAY, "ids": script.ids, "steps": steps,
                   "expect": script.expect}
        if script.breaks:
            fixture["breaks"] = script.breaks
        return fixture


def _check(contract: Contract, script: Script, steps: list[dict[str, Any]], answers: list[tuple[int, Any]]) -> None:
    labels = Labels(contract)
    where = f"v1.1 {script.folder}/{script.name}"
    for index, (step, answer) in enumerate(zip(steps, answers)):
        op = contract.operations[step["operationId"]]
        last = index == len(steps) - 1
        got = outcome(answer)
        wanted = script.expect if last else labels.expect(step["step"], [labels.ok_item] * len(got["items"]))
        if got != wanted:
            raise ValueError(f"{where}: the mock answered {step['step']} with {got}, the spec says {wanted}")
        validator = op.response_validator(answer[0])
        problems = validator.violations(answer[1]) if validator else ["no documented response"]
        broken = op.body.violations(step["request"]["body"])
        if problems or (bool(broken) != (last and script.breaks is not None)):
            raise ValueError(f"{where} {step['step']}: answer {problems}, body {broken}")
    added = sum(i.get("item_status", {}).get("success") == "true"
                for step, answer in zip(steps, answers) if step["step"] == "add" for i in _items(answer[1]))
    if added != len(script.ids):
        raise ValueError(f"{where}: {added} requests added, {len(script.ids)} placeholder ids")
    if script.answer is not None and answers[-1][1] != script.answer:
        raise ValueError(f"{where}: the mock's answer differs from the spec's example: {answers[-1][1]}")
