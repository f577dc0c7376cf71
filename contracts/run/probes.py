"""Deterministic domain probes: one scenario per rule the workflow documents.

Each probe creates what it needs, acts as the identity the rule is about, and compares the
answer with the documented status and code (from openapi.yaml). A probe is one JUnit test case;
one that needs an identity the run does not have (a supervisor for four-eyes, an outsider for
isolation, a viewer for permissions) or an operation --exclude left out is reported as not checked,
never passed.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from capillary_contract.http import ORG_HEADER, basic_authorization
from capillary_contract.examples import documented_bodies

from capillary_contract.lifecycle import APPROVAL_OUTCOMES, REJECTED

from . import checks as rules
from .context import RunContext
from .findings import mask

PHASE = "probes"
PROBES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], Callable[["Probe"], None]]] = []
V2 = ("createRequest", "decideRequest", "getRequest", "listRequests")


def probe(name: str, rule: str, uses: tuple[str, ...] = V2, needs: tuple[str, ...] = ()):
    """Register a probe: `uses` the operations it calls, `needs` the identities beyond maker and checker."""
    def register(func: Callable[["Probe"], None]) -> Callable[["Probe"], None]:
        PROBES.append((name, rule, uses, needs, func))
        return func
    return register


class Probe:
    """The helpers a probe uses; failures are reported under the probe's name."""

    phase = PHASE

    def __init__(self, ctx: RunContext, name: str, rule: str):
        self.ctx, self.name, self.rule = ctx, name, rule
        self.client = ctx.client()
        self.contract = ctx.contract
        self.bodies = documented_bodies(ctx.contract)

    def fail(self, message: str, response: Any = None, operation: str = "", cause: str | None = None) -> None:
        op = operation or (self.ctx.label_of(response) if response is not None else "")
        self.ctx.fail(self.phase, self.name, self.rule, op, message, response, per_operation=False, cause=cause)

    def who(self, role: str) -> Any:
        return self.ctx.cast.get(role)

    def count(self, response: Any = None) -> None:
        if response is None:
            self.ctx.report.count(self.phase)
        else:
            self.ctx.observe(self.phase, response)

    def expect(self, response: Any, status: int, code: int, what: str) -> bool:
        self.count(response)
        problem = rules.expect_error(self.contract, response, status, code)
        if problem:  # the cause is what came back, whichever case sent it: one wrong answer is one problem
            self.fail(f"{what}: {problem}", response, cause=mask(problem, self.ctx.report.type_names))
            return False
        return True

    def create(self, url_name: str = "GOODWILL-POINTS", who: Any = None, body: Any = None) -> dict[str, Any] | None:
        """`who` (the maker by default) raises a request: the documented body, or `body`; None if refused."""
        who = who or self.ctx.cast.maker
        response = self.client.create(url_name, self.bodies[url_name] if body is None else body, who)
        self.last_create = response  # a finding about what the create answered shows it
        self.count(response)
        data = (rules.json_or_none(response) or {}).get("data") if response.status_code == 200 else None
        if not isinstance(data, dict) or "requestId" not in data:
            self.fail(f"{who.name} could not create a {url_name} request (HTTP {response.status_code})", response)
            return None
        self.ctx.remember(data["requestId"], url_name, data.get("state"))
        return data

    def state_of(self, request_id: str) -> str | None:
        response = self.client.get(request_id, self.ctx.cast.maker)
        self.last_read = response  # a finding about the state shows the read that saw it
        self.count(response)
        data = (rules.json_or_none(response) or {}).get("data")
        return data.get("state") if isinstance(data, dict) else None

    def still_pending(self, data: dict[str, Any], after: str) -> None:
        state = self.state_of(data["requestId"])
        if state != rules.PENDING:
            self.fail(f"after {after} the request is {state!r}; it must still be {rules.PENDING!r}",
                      self.last_read)

    @property
    def safe_decision(self) -> str:
        return "approved" if self.ctx.may_approve else "rejected"


@probe("create_every_type", "a maker's valid create is accepted as documented: AdminTask, details of the maker's steps, "
                            "requestType lower-kebab")
def create_every_type(p: Probe) -> None:
    for url_name in p.contract.request_types:
        data = p.create(url_name)
        if data is None:
            continue
        expected_name = rules.response_type_name(p.contract, url_name)
        if data.get("requestType") != expected_name:
            p.fail(f"{url_name}: requestType {data.get('requestType')!r}, documented {expected_name!r}",
                   p.last_create)
        for problem in rules.details_on_create(data, p.bodies[url_name]):
            p.fail(f"{url_name}: {problem}", p.last_create)


@probe("details_growth", "deciding adds AdminTask-Payload, AdminTask_Output, ValidateCheckerAccess_Output "
                         "(and IntouchAPITask_Output on approval) and keeps the earlier steps")
def details_growth(p: Probe) -> None:
    decisions = ["rejected"] + (["approved"] if p.ctx.may_approve else [])
    for decision in decisions:
        data = p.create("GOODWILL-POINTS")
        if data is None:
            return
        message = f"{decision} by the contract suite"
        response = p.client.decide("GOODWILL-POINTS", data["requestId"], decision, p.ctx.cast.checker, message)
        p.count(response)
        after = (rules.json_or_none(response) or {}).get("data") if response.status_code == 200 else None
        if not isinstance(after, dict):
            p.fail(f"the checker's {decision} was refused (HTTP {response.status_code})", response)
            continue
        p.ctx.remember(data["requestId"], "GOODWILL-POINTS", after.get("state"))
        allowed = {REJECTED} if decision == REJECTED else APPROVAL_OUTCOMES
        if after.get("state") not in allowed:
            p.fail(f"after {decision} the state is {after.get('state')!r}; documented: {sorted(allowed)}", response)
        for problem in rules.details_on_decision(data, after, decision, message):
            p.fail(problem, response)


@probe("maker_is_not_checker", "the maker cannot decide their own request, even with CanCheckRequest (403, 2001)",
       needs=("supervisor",))
def maker_is_not_checker(p: Probe) -> None:
    who = p.who("supervisor")  # both permissions: a 403 can only be for four-eyes, not for a missing permission
    data = p.create(who=who)
    if data is None:
        return
    response = p.client.decide("GOODWILL-POINTS", data["requestId"], p.safe_decision, who)
    if p.expect(response, 403, 2001, f"{who.name} deciding a request they raised"):
        p.still_pending(data, "a refused self-decision")


@probe("permissions", "creating needs CanMakeRequest (403, 2001)")
def permissions(p: Probe) -> None:
    body = p.bodies["GOODWILL-POINTS"]
    p.expect(p.client.create("GOODWILL-POINTS", body, p.ctx.cast.checker), 403, 2001,
             "a checker without CanMakeRequest creating")


@probe("no_permission", "a user with neither permission can create, decide, read and list nothing (403, 2001)",
       needs=("viewer",))
def no_permission(p: Probe) -> None:
    viewer = p.who("viewer")
    body = p.bodies["GOODWILL-POINTS"]
    data = p.create()
    if data is None:
        return
    p.expect(p.client.create("GOODWILL-POINTS", body, viewer), 403, 2001, "a user without permissions creating")
    p.expect(p.client.decide("GOODWILL-POINTS", data["requestId"], p.safe_decision, viewer), 403, 2001,
             "a user without permissions deciding")
    p.expect(p.client.get(data["requestId"], viewer), 403, 2001, "a user without permissions reading")
    p.expect(p.client.list({}, viewer), 403, 2001, "a user without permissions listing")
    p.still_pending(data, "refused decisions")


@probe("org_isolation", "a user of another organisation can neither read nor decide the request (404, 2007), "
                        "nor act in an organisation that is not theirs (400, 2005)", needs=("outsider",))
def org_isolation(p: Probe) -> None:
    outsider = p.who("outsider")
    data = p.create()
    if data is None:
        return
    rid = data["requestId"]
    p.expect(p.client.get(rid, outsider), 404, 2007, "another organisation reading the request")
    p.expect(p.client.decide("GOODWILL-POINTS", rid, p.safe_decision, outsider), 404, 2007,
             "another organisation deciding the request")
    listing = p.client.list({"limit": 100}, outsider)
    p.count(listing)
    items = (rules.json_or_none(listing) or {}).get("data") or []
    if any(isinstance(i, dict) and i.get("requestId") == rid for i in items):
        p.fail("another organisation's list shows the request", listing)
    p.expect(p.client.get(rid, outsider, org=p.ctx.cast.org), 400, 2005,
             "a user naming an organisation that is not theirs")
    p.still_pending(data, "another organisation's attempts")


@probe("decided_once", "a decided request cannot be decided again (409, 2002) and keeps its state")
def decided_once(p: Probe) -> None:
    data = p.create()
    if data is None:
        return
    rid = data["requestId"]
    if p.state_of(rid) != rules.PENDING:  # read once while pending: a later read must not be a stale copy
        p.fail("a new request does not read as pending", p.last_read)
    first = p.client.decide("GOODWILL-POINTS", rid, p.safe_decision, p.ctx.cast.checker)
    p.count(first)
    final = ((rules.json_or_none(first) or {}).get("data") or {}).get("state") if first.status_code == 200 else None
    if final is None:
        p.fail(f"the first decision was refused (HTTP {first.status_code})", first)
        return
    p.ctx.remember(rid, "GOODWILL-POINTS", final)
    for again in ("rejected", p.safe_decision):
        p.expect(p.client.decide("GOODWILL-POINTS", rid, again, p.ctx.cast.checker), 409, 2002,
                 f"deciding ({again}) a request already {final}")
    state = p.state_of(rid)
    if state != final:
        p.fail(f"a {final} request now reads {state!r}; terminal states never change",
               p.last_read)


@probe("credentials_and_org_header", "bad credentials get 401/2013; a missing organisation header 400/2026")
def credentials_and_org_header(p: Probe) -> None:
    maker = p.ctx.cast.maker
    path = p.contract.path_of("listRequests")
    if maker.login:
        bad = basic_authorization(maker.login, "not-the-password")
        p.expect(p.client.raw("GET", path, headers={"Authorization": bad, ORG_HEADER: maker.org}),
                 401, 2013, "wrong password")
    p.expect(p.client.raw("GET", path, headers=maker.headers), 400, 2026, "no organisation header")


def _legacy_items(response: Any) -> list[dict[str, Any]]:
    answer = (rules.json_or_none(response) or {}).get("response") or {}
    items = (answer.get("requests") or {}).get("request") or []
    return [i for i in items if isinstance(i, dict)]


def _legacy_add(p: Probe, who: Any) -> dict[str, Any] | None:
    """One v1.1 goodwill request added by `who` (the documented example, a fresh reference id)."""
    examples = p.contract.operations["addLegacyRequests"].raw["requestBody"]["content"]["application/json"]["examples"]
    item = examples["goodwillPoints"]["value"]["root"]["request"][0]
    body = {"root": {"request": [{**item, "reference_id": f"contracts-{time.time_ns()}"}]}}
    added = p.client.raw("POST", p.contract.path_of("addLegacyRequests"), params={"format": "json"}, json=body,
                         headers=who.headers)
    p.count()
    items = _legacy_items(added)
    if added.status_code != 200 or not items or not items[0].get("id"):
        p.fail(f"{who.name} could not add a v1.1 request (HTTP {added.status_code})", added)
        return None
    return items[0]


def _legacy_decide(p: Probe, operation_id: str, item: dict[str, Any], who: Any) -> tuple[Any, Any]:
    """Approve or reject one v1.1 item; the answer and its item code."""
    decision = {"root": {"request": [{"id": item["id"], "type": item.get("type", "GOODWILL"),
                                      "base_type": item.get("base_type", "POINTS"),
                                      "updated_comments": "by the contract suite"}]}}
    answer = p.client.raw("POST", p.contract.path_of(operation_id), params={"format": "json"}, json=decision,
                          headers=who.headers)
    p.count()
    items = _legacy_items(answer)
    return answer, ((items[0] if items else {}).get("item_status") or {}).get("code")


def _legacy_expect(p: Probe, answer: Any, code: Any, expected: int, what: str) -> None:
    if code != expected:
        p.fail(f"{what} answered item code {code!r}; documented: {expected} "
               f"{p.contract.legacy_item_errors.get(expected)!r}", answer)


@probe("legacy_self_approval", "v1.1: the user who added a request cannot approve it (item code 9056)",
       uses=("addLegacyRequests", "approveLegacyRequests"), needs=("supervisor",))
def legacy_self_approval(p: Probe) -> None:
    who = p.who("supervisor")
    if not who.login or not p.ctx.may_approve:
        p.ctx.report.not_checked(PHASE, p.name, "needs the supervisor as Basic auth (v1.1 takes no token) "
                                 "and approvals allowed (--allow-approve on a non-loopback target)")
        return
    item = _legacy_add(p, who)
    if item is not None:
        answer, code = _legacy_decide(p, "approveLegacyRequests", item, who)
        _legacy_expect(p, answer, code, 9056, "self-approval")


@probe("legacy_decided_once", "v1.1: a decided request cannot be decided again (item code 9052); an unknown id "
                              "is not found (9050)",
       uses=("addLegacyRequests", "approveLegacyRequests", "rejectLegacyRequests"))
def legacy_decided_once(p: Probe) -> None:
    maker, checker = p.ctx.cast.maker, p.ctx.cast.checker
    if not (maker.login and checker.login):
        p.ctx.report.not_checked(PHASE, p.name, "needs the maker and checker as Basic auth (v1.1 takes no token)")
        return
    item = _legacy_add(p, maker)
    if item is None:
        return
    first = "approveLegacyRequests" if p.ctx.may_approve else "rejectLegacyRequests"
    answer, code = _legacy_decide(p, first, item, checker)
    if code != 9000:
        p.fail(f"the checker's first decision answered item code {code!r}, expected 9000", answer)
        return
    for again in ("rejectLegacyRequests", first):
        answer, code = _legacy_decide(p, again, item, checker)
        _legacy_expect(p, answer, code, 9052, f"deciding a decided request again ({again})")
    answer, code = _legacy_decide(p, "rejectLegacyRequests", {**item, "id": "987654321987"}, checker)
    _legacy_expect(p, answer, code, 9050, "deciding an unknown id")


def run_probes(ctx: RunContext) -> None:
    for name, rule, uses, needs, func in PROBES:
        missing = [f"--{role}-auth" for role in needs if ctx.cast.get(role) is None]
        left_out = ctx.selection.missing(ctx.contract, uses)
        if missing:
            ctx.report.not_checked(PHASE, name, f"{rule}: needs {', '.join(missing)}")
        elif left_out:
            ctx.report.not_checked(PHASE, name, f"excluded: uses {', '.join(left_out)}")
        else:
            ctx.report.passed(PHASE, name)
            func(Probe(ctx, name, rule))


@probe("decision_names_the_type", "a decision sent to another type's URL finds no request (404, 2007) and leaves it pending")
def decision_names_the_type(p: Probe) -> None:
    data = p.create("GOODWILL-POINTS")
    if data is None:
        return
    other = next(t for t in p.contract.request_types if t != "GOODWILL-POINTS")
    if p.expect(p.client.decide(other, data["requestId"], p.safe_decision, p.ctx.cast.checker), 404, 2007,
                f"deciding a GOODWILL-POINTS request through the {other} URL"):
        p.still_pending(data, "a decision through another type's URL")


@probe("refuses_what_is_not_documented", "an undeclared query parameter is refused (400, 2008, naming it); "
                                         "a body that is not JSON is refused (415, 2008)")
def refuses_what_is_not_documented(p: Probe) -> None:
    maker = p.ctx.cast.maker
    p.expect(p.client.raw("GET", p.contract.path_of("listRequests"), params={"pageNo": 1},
                          headers=maker.request_headers), 400, 2008, "listing with pageNo (the parameter is PageNo)")
    p.expect(p.client.raw("POST", p.contract.create_path("GOODWILL-POINTS"), data=b"not json",
                          headers={**maker.request_headers, "Content-Type": "text/plain"}), 415, 2008,
             "creating with a text/plain body")
