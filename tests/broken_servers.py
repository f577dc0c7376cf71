"""Small Flask stand-ins for a Capillary deployment, each broken on purpose in one way.

`workflow_app(None)` follows the contract (the proxy must find nothing); each fault breaks one
promise: `renamed_state` answers a pending request as "PENDING", `second_approval` lets a
decided request be decided again, `cross_org_read` shows a request to any organisation,
`wrong_message` answers the maker's own decision with code 2001 and a made-up message,
`accepts_invalid` creates a request from a body its type's schema refuses, `wrong_code` refuses
such a body with a code the spec ties to something else (2009, an unsupported type),
`legacy_second_approval` approves an approved v1.1 request again.
Documents are built with the contract package's own lifecycle (`apply`), requests are checked
with its request-check order (`RequestChecks`), codes and messages come from the contract; only
the fault is written here.
"""
from __future__ import annotations

import base64
import contextlib
import time
import uuid
from typing import Any, Iterator

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from capillary_contract import lifecycle
from capillary_contract.loader import load_contract
from capillary_contract.requests import RequestChecks

from threaded_servers import serving

CONTRACT = load_contract()
CHECKS = RequestChecks(CONTRACT, credentials=None)
UNSUPPORTED_TYPE = 2009
FAULTS = ("renamed_state", "second_approval", "cross_org_read", "wrong_message", "accepts_invalid", "wrong_code",
          "legacy_second_approval")
# user name -> (user id, organisation, may make, may check); the mock's default users
USERS = {"maker": (232134, "51250", True, False), "checker": (233253, "51250", False, True),
         "outsider": (250001, "51251", True, True)}
BASE = "/api_gateway/v2/request-workflow"
ORG_HEADER = "X-CAP-API-AUTH-ORG-ID"
WRAPPED_OK = {"status": 200, "headers": {"Content-Type": ["application/json"]}, "body": {"warnings": []}}


def _error(status: int, code: int, message: str | None = None):
    entry = {"status": False, "code": code, "message": message or CONTRACT.workflow_errors[code]}
    return jsonify({"errors": [entry]}), status


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def workflow_app(fault: str | None) -> Flask:
    assert fault is None or fault in FAULTS, fault
    app = Flask(f"broken-{fault}")
    documents: dict[str, dict[str, Any]] = {}
    orgs: dict[str, str] = {}

    def caller() -> tuple[str, tuple[int, str, bool, bool]] | None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return (user, USERS[user]) if user in USERS and password == user else None

    def shown(document: dict[str, Any]) -> dict[str, Any]:
        if fault == "renamed_state" and document["state"] == lifecycle.PENDING:
            return {**document, "state": "PENDING"}
        return document

    @app.post(f"{BASE}/<url_type>")
    def create(url_type: str):
        who = caller()
        if who is None:
            return _error(401, 2013)
        name, (user_id, org, may_make, _) = who
        if not may_make:
            return _error(403, 2001)
        op, path_params = CONTRACT.match("POST", request.path)
        problems = CHECKS.problems_as_sent(op, headers=request.headers, path_params=path_params,
                                           query=request.args.to_dict(flat=False), content_type=request.content_type,
                                           raw_body=request.get_data())
        if problems and fault != "accepts_invalid":
            code = UNSUPPORTED_TYPE if fault == "wrong_code" else problems[0].code or 2008
            return _error(400, code)
        body = request.get_json()
        request_id = str(uuid.uuid1())
        start = {"requestId": request_id, "userId": user_id, "userName": f"{name}@example.com",
                 "requestType": CONTRACT.request_types[url_type]["responseName"], "startTime": _now(),
                 "details": {"IntouchAPITask-Payload": (body.get("payload") or {}).get("IntouchAPITask-Payload")}}
        step = lifecycle.transition(lifecycle.NEW, lifecycle.CREATE)
        documents[request_id] = lifecycle.apply(start, step, lifecycle.StepInputs(), _now())
        orgs[request_id] = org
        return jsonify({"data": shown(documents[request_id])})

    @app.put(f"{BASE}/<url_type>")
    def decide(url_type: str):
        who = caller()
        if who is None:
            return _error(401, 2013)
        name, (user_id, org, _, may_check) = who
        body = request.get_json()
        document = documents.get(body["requestId"])
        if document is None or orgs[body["requestId"]] != org:
            return _error(404, 2007)
        if not may_check or document["userId"] == user_id:
            return _error(403, 2001, "Forbidden" if fault == "wrong_message" else None)
        decision = body["payload"]["AdminTask-Payload"]
        action = lifecycle.APPROVE if decision["actionDecision"] == lifecycle.APPROVED else lifecycle.REJECT
        state = lifecycle.PENDING if fault == "second_approval" else document["state"]
        try:
            step = lifecycle.transition(state, action)
        except lifecycle.NoTransition:
            return _error(409, 2002)
        inputs = lifecycle.StepInputs(decision=decision, wrapped_output=WRAPPED_OK)
        kept = {**document, "details": {k: v for k, v in document["details"].items()
                                        if k in ("IntouchAPITask-Payload", "ValidateMakerAccess_Output",
                                                 "ValidatePayload_Output")}}
        documents[body["requestId"]] = lifecycle.apply(kept, step, inputs, _now())
        return jsonify({"data": shown(documents[body["requestId"]])})

    @app.get(f"{BASE}/requests/<request_id>")
    def read(request_id: str):
        who = caller()
        if who is None:
            return _error(401, 2013)
        document = documents.get(request_id)
        if document is None or (fault != "cross_org_read" and orgs[request_id] != who[1][1]):
            return _error(404, 2007)
        return jsonify({"data": shown(document)})

    legacy: dict[str, dict[str, Any]] = {}

    def batch(items: list[dict[str, Any]]):
        return jsonify({"response": {"status": {"success": "true", "code": 200, "message": "Success"},
                                     "requests": {"request": items}}})

    @app.post("/v1.1/request/add")
    def legacy_add():
        out = []
        for item in request.get_json()["root"]["request"]:
            record = {"id": str(len(legacy) + 1), "type": item["type"], "base_type": item["base_type"],
                      "status": "PENDING", "customer": {"mobile": item.get("mobile", "")}, "adder": caller()[0]}
            legacy[record["id"]] = record
            out.append({**{k: v for k, v in record.items() if k != "adder"},
                        "item_status": {"success": "true", "code": 9000, "message": "Request added successfully"}})
        return batch(out)

    @app.post("/v1.1/request/approve")
    def legacy_approve():
        out = []
        for item in request.get_json()["root"]["request"]:
            record = legacy[item["id"]]
            fails = (9056 if record["adder"] == caller()[0] else
                     9052 if record["status"] != "PENDING" and fault != "legacy_second_approval" else None)
            status = ({"success": "false", "code": fails, "message": CONTRACT.legacy_item_errors[fails]} if fails else
                      {"success": "true", "code": 9000, "message": "Request updated successfully"})
            if not fails:
                record["status"] = "APPROVED"
            out.append({"id": record["id"], "type": record["type"], "base_type": record["base_type"],
                        "status": record["status"], "item_status": status})
        return batch(out)

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


def serve_app(app: Flask) -> contextlib.AbstractContextManager[str]:
    """Serve a Flask app on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    return serving(make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet))
