"""A small client for the v2 workflow API, used by the probes and the lifecycle machine.

It only builds requests from the contract's paths (the create path per type, decide, read,
list); it interprets nothing, so the rules stay in checks.py.
"""
from __future__ import annotations

from typing import Any

import requests

from capillary_contract.loader import Contract
from capillary_contract.examples import decision_body

from .identities import Identity


class WorkflowClient:
    def __init__(self, base_url: str, session: requests.Session, contract: Contract):
        self.base = base_url.rstrip("/")
        self.session = session
        self.contract = contract

    def create(self, url_name: str, body: Any, who: Identity, org: str | None = None) -> requests.Response:
        return self.session.post(self.base + self.contract.create_path(url_name), json=body, headers=who.with_org(org or who.org))

    def decide(self, url_name: str, request_id: str, decision: str, who: Identity, message: str = "",
               org: str | None = None) -> requests.Response:
        body = decision_body(request_id, decision, message or f"{decision} by the contract suite", self.contract)
        return self.session.put(self.base + self.contract.create_path(url_name), json=body, headers=who.with_org(org or who.org))

    def get(self, request_id: str, who: Identity, org: str | None = None) -> requests.Response:
        path = self.contract.path_of("getRequest", requestId=request_id)
        return self.session.get(self.base + path, headers=who.with_org(org or who.org))

    def list(self, params: dict[str, Any], who: Identity) -> requests.Response:
        return self.session.get(self.base + self.contract.path_of("listRequests"), params=params, headers=who.request_headers)

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, **kwargs)
