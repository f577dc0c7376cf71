"""What the pytest plugin's `capillary` fixture hands a test: the target's users as HTTP sessions,
and the few helpers a maker-checker test needs, all driven by the contract.

    def test_checker_approves(capillary):
        request = capillary.create("GOODWILL-POINTS")            # as the maker; asserts 200
        approved = capillary.approve(request)                     # as the checker
        assert approved["state"] == "approved"
        assert [e["data"]["currentRequestState"] for e in capillary.events(request["requestId"])] \\
            == ["AdminTask", "approved"]
        capillary.assert_error(capillary.decide(request, "rejected"), 2002)   # 409, exact message

Nothing here knows the mock's internals: it talks HTTP to a base URL, so the same tests run
against another deployment, where what needs the mock's control API (`/__admin/`) is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

import pytest
import requests

from capillary_contract.catalogue import statuses_by_code
from capillary_contract.examples import decision_body, documented_bodies
from capillary_contract.lifecycle import APPROVED, REJECTED
from capillary_contract.loader import Contract
from capillary_contract.types import by_any_name, load_types
from capillary_contract.users import DEFAULT_USERS

from .run.identities import Identity, parse_auth

TIMEOUT_S = 30.0
CONTROL_REASON = "needs the mock's control API (/__admin/), which {url} is not: it is another deployment"


class UserSession(requests.Session):
    """A `requests.Session` that sends one user's credentials and org header and takes paths
    relative to the target (`session.get("/api_gateway/v2/request-workflow/requests")`)."""

    def __init__(self, base_url: str, identity: Identity):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.headers.update(identity.request_headers)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        url = url.decode() if isinstance(url, bytes) else url
        if not urlsplit(url).scheme:
            url = self.base_url + ("" if url.startswith("/") else "/") + url
        kwargs.setdefault("timeout", TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


def default_logins() -> dict[str, Identity]:
    """The mock's default users (capillary_contract.users), each in its own org, by Basic auth."""
    return {name: parse_auth(name, f"basic:{u.username}:{u.password}", str(u.org)) for name, u in DEFAULT_USERS.items()}


@dataclass
class Target:
    """What the tests run against: a base URL, and whether its control API is the mock's."""

    base_url: str
    controllable: bool
    logins: dict[str, Identity] = field(default_factory=default_logins)

    def require_control(self) -> None:
        if not self.controllable:
            pytest.skip(CONTROL_REASON.format(url=self.base_url))


class Capillary:
    """One test's handle on the target. Roles are attributes: `.maker`, `.checker`, `.supervisor`,
    `.viewer`, `.outsider` (and any other login the target was given, via `.session(name)`)."""

    def __init__(self, target: Target, contract: Contract):
        self.target, self.contract, self.base_url = target, contract, target.base_url
        self._types = load_types(contract)
        self._sessions: dict[str, UserSession] = {}

    # -- users ------------------------------------------------------------------------
    def session(self, role: str) -> UserSession:
        """The session of a role the target knows (a default user's name, or a --capillary-auth role)."""
        if role not in self._sessions:
            try:
                identity = self.target.logins[role]
            except KeyError:
                raise KeyError(f"no login for {role!r}; known: {', '.join(sorted(self.target.logins))}") from None
            self._sessions[role] = UserSession(self.base_url, identity)
        return self._sessions[role]

    maker = property(lambda self: self.session("maker"))
    checker = property(lambda self: self.session("checker"))
    supervisor = property(lambda self: self.session("supervisor"))
    viewer = property(lambda self: self.session("viewer"))
    outsider = property(lambda self: self.session("outsider"))

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()

    # -- requests ---------------------------------------------------------------------
    def body(self, request_type: str) -> dict[str, Any]:
        """A valid create body of the type: the one the contract documents (a fresh copy)."""
        return documented_bodies(self.contract)[self.url_name(request_type)]

    def create(self, request_type: str, body: Any = None, *, user: str = "maker") -> dict[str, Any]:
        """Raise a request as `user` (the maker by default); its document. Fails the test unless 200."""
        url_name = self.url_name(request_type)
        answer = self.session(user).post(self.contract.create_path(url_name),
                                         json=self.body(url_name) if body is None else body)
        return _data(answer, f"create {url_name} as {user}")

    def decide(self, request: Mapping[str, Any], verdict: str = APPROVED, *, user: str = "checker",
               message: str | None = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """PUT a decision on a request (a document from `create`) as `user`; the raw answer."""
        url_name = self.url_name(request["requestType"])
        body = decision_body(request["requestId"], verdict, message or f"{verdict} by a pytest test", self.contract)
        return self.session(user).put(self.contract.create_path(url_name), json=body, headers=dict(headers or {}))

    def approve(self, request: Mapping[str, Any], *, user: str = "checker", **kw: Any) -> dict[str, Any]:
        """Approve as `user` (the checker by default); the decided document (approved, or failed when
        the wrapped call failed). Fails the test unless 200."""
        return _data(self.decide(request, APPROVED, user=user, **kw), f"approve as {user}")

    def reject(self, request: Mapping[str, Any], *, user: str = "checker", **kw: Any) -> dict[str, Any]:
        """Reject as `user` (the checker by default); the decided document. Fails the test unless 200."""
        return _data(self.decide(request, REJECTED, user=user, **kw), f"reject as {user}")

    def read(self, request_id: str, *, user: str = "maker") -> requests.Response:
        """GET one request as `user`; the raw answer."""
        return self.session(user).get(self.contract.path_of("getRequest", requestId=request_id))

    def url_name(self, request_type: str) -> str:
        """A type's URL name from any of its spellings (URL, response, event)."""
        found = by_any_name(self._types, request_type, event_name=True)
        if found is None:
            raise KeyError(f"{request_type!r} is not a request type of the contract; known: {', '.join(self._types)}")
        return found.url_name

    # -- the documented errors --------------------------------------------------------
    def assert_error(self, answer: requests.Response, code: int, status: int | None = None) -> dict[str, Any]:
        """The answer refuses with documented `code`: its HTTP status one the contract documents for
        that code on that operation (or `status`), the v2 error envelope, every entry's exact
        message from the contract's catalogue. Returns the entry with `code`."""
        __tracebackhide__ = True  # a failure points at the test's line, not at this helper
        statuses = {status} if status is not None else documented_statuses(self.contract, answer, code, self.base_url)
        assert answer.status_code in statuses, (
            f"expected HTTP {' or '.join(map(str, sorted(statuses)))} with code {code}, "
            f"got {answer.status_code}: {answer.text[:500]}")
        assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
        errors = answer.json().get("errors")
        assert isinstance(errors, list) and errors, f"no `errors` in {answer.text[:500]}"
        catalogue = self.contract.workflow_errors
        for entry in errors:
            assert entry.get("status") is False, entry
            assert entry.get("message") == catalogue.get(entry.get("code")), (
                f"code {entry.get('code')}: message {entry.get('message')!r}, "
                f"documented {catalogue.get(entry.get('code'))!r}")
        found = [entry for entry in errors if entry["code"] == code]
        assert found, f"code {code} ({catalogue.get(code)!r}) not among {[e['code'] for e in errors]}"
        return found[0]

    # -- the mock's control API -------------------------------------------------------
    def reset(self) -> None:
        """Back to the mock as served: requests, events, faults, journal and runtime subscriptions go,
        and what its config preloads (`examples`, `fixtures_dir`, `pending_per_type`) is loaded again."""
        self._admin("POST", "reset", params={"preload": "true"})

    def events(self, request_id: str, wait: bool = True, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The `requestWorkflowEvent`s of a request, oldest first; with `wait`, once every event is
        delivered to the subscriptions (or given up on) or `timeout` seconds passed. No sleeps."""
        params: dict[str, Any] = {"requestId": request_id}
        if wait:
            params.update(waitFor="all", timeout=timeout)
        answer = self._admin("GET", "events", params=params, timeout=timeout + TIMEOUT_S)
        return [entry["event"] for entry in answer.json()["events"]]

    def deliveries(self, request_id: str) -> list[dict[str, Any]]:
        """The events of a request with their delivery attempts (`GET /__admin/events`), as served."""
        return self._admin("GET", "events", params={"requestId": request_id}).json()["events"]

    def force_outcome(self, outcome: str, *, request_type: str | None = None, count: int = 1,
                      **fault: Any) -> dict[str, Any]:
        """The next `count` approvals (of `request_type`, if given) get `outcome` (success, failure,
        timeout) from their wrapped call; `status`, `body`, `latencyMs` as `POST /__admin/faults` takes."""
        body = {"outcome": outcome, "count": count, **fault}
        if request_type is not None:
            body["requestType"] = self.url_name(request_type)
        return self._admin("POST", "faults", json=body).json()

    def subscribe(self, url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Deliver the mock's events to `url` (a runtime subscription: `reset` removes it)."""
        return self._admin("POST", "subscriptions", json={"url": url, "headers": dict(headers or {})}).json()

    def _admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.target.require_control()
        kwargs.setdefault("timeout", TIMEOUT_S)
        answer = requests.request(method, f"{self.base_url}/__admin/{path}", **kwargs)
        assert answer.status_code < 300, f"{method} /__admin/{path}: HTTP {answer.status_code} {answer.text[:500]}"
        return answer


def _data(answer: requests.Response, what: str) -> dict[str, Any]:
    if answer.status_code != 200:
        pytest.fail(f"{what}: HTTP {answer.status_code} {answer.text[:1000]}", pytrace=False)
    return answer.json()["data"]


def documented_statuses(contract: Contract, answer: requests.Response, code: int, base_url: str = "") -> set[int]:
    """The HTTP statuses at which the operation that was called documents error `code`."""
    request = answer.request
    path = urlsplit(request.url or "").path
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]  # a deployment served under a base path
    found = contract.match(request.method or "GET", path)
    if found is None:
        raise AssertionError(f"{request.method} {request.url} is no operation of the contract")
    statuses = statuses_by_code(contract, found[0]).get(code)
    if not statuses:
        raise AssertionError(f"{found[0].operation_id} documents no error {code}")
    return statuses
