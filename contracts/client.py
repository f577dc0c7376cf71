"""A small client for the v2 workflow API, used by the probes and the lifecycle machine.

It only builds requests from the contract's paths (the create path per type, decide, read,
list); it interprets nothing, so the rules stay in checks.py.
"""
from __future__ import annotations

from typing import Any

import requests

from .identities import Identity
from .spec import create_path

DECIDE_ACTION = "AdminTask"  # DecisionBody.actionName const in openapi.yaml
READ_PATH = "/api_gateway/v2/request-workflow/requests"


class WorkflowClient:
    def __init__(self, base_url: str, session: requests.Session):
        self.base = base_url.rstrip("/")
        self.session = session

    def create(self, url_name: str, body: Any, who: Identity, org: str | None = None) -> requests.Response:
        return self.session.post(self.base + create_path(url_name), json=body, headers=who.with_org(org or who.org))

    @staticmethod
    def decision(request_id: str, decision: str, message: str) -> dict[str, Any]:
        return {"requestId": request_id, "actionName": DECIDE_ACTION,
                "payload": {"AdminTask-Payload": {"actionDecision": decision, "actionMessage": message}}}

    def decide(self, url_name: str, request_id: str, decision: str, who: Identity, message: str = "",
               org: str | None = None) -> requests.Response:
        body = self.decision(request_id, decision, message or f"{decision} by the contract suite")
        return self.session.put(self.base + create_path(url_name), json=body, headers=who.with_org(org or who.org))

    def get(self, request_id: str, who: Identity, org: str | None = None) -> requests.Response:
        return self.session.get(f"{self.base}{READ_PATH}/{request_id}", headers=who.with_org(org or who.org))

    def list(self, params: dict[str, Any], who: Identity) -> requests.Response:
        return self.session.get(self.base + READ_PATH, params=params, headers=who.request_headers)

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, **kwargs)
