"""The lifecycle machine: a Hypothesis RuleBasedStateMachine over create / approve / reject /
decide twice / self-approve / read one / list, holding a model of every request it made.

Every read is compared with the model; lists must filter and page as asked; a decided
request must stay decided. Failures are reported (first per rule) instead of raised, so one
broken rule does not stop the others from being exercised; the exchange that broke the rule
is the reproduction. It talks HTTP only, so it runs against any base URL.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, seed, settings, strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, consumes, multiple, precondition, rule,
                                 run_state_machine_as_test)

from capillary_contract import strategies
from capillary_contract.lifecycle import APPROVAL_OUTCOMES, APPROVED, DECISIONS, REJECTED, STATES, TERMINAL

from . import checks as rules
from .context import RunContext

PHASE = "machine"
COMPARED = ("requestId", "requestType", "state", "userId", "endTime", "details")


@dataclass
class Modelled:
    request_id: str
    url_name: str
    data: dict[str, Any]
    history: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.data["state"]


def build_machine(ctx: RunContext) -> type[RuleBasedStateMachine]:
    bodies = {url_name: strategies.create_bodies(url_name, ctx.contract) for url_name in ctx.contract.request_types}
    types = sorted(ctx.contract.request_types)

    class Lifecycle(RuleBasedStateMachine):
        pending = Bundle("pending")
        decided = Bundle("decided")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, Modelled] = {}
            self.client = ctx.client()
            self.cast = ctx.cast

        # -- helpers -------------------------------------------------------------------
        def fail(self, check: str, rule_text: str, message: str, response: Any = None, operation: str = "") -> None:
            if response is not None and not operation:
                operation = f"{response.request.method} {response.request.path_url.split('?')[0]}"
            ctx.fail(PHASE, check, rule_text, operation, message, response)

        def data_of(self, response: Any) -> dict[str, Any] | None:
            ctx.observe(PHASE, response)
            body = rules.json_or_none(response)
            data = body.get("data") if isinstance(body, dict) else None
            return data if isinstance(data, dict) else None

        def decide(self, item: Modelled, decision: str) -> Modelled:
            message = f"{decision} by the lifecycle machine"
            response = self.client.decide(item.url_name, item.request_id, decision, self.cast.checker, message)
            data = self.data_of(response) if response.status_code == 200 else None
            if data is None:
                self.fail("checker_decides", "a checker decides a pending request (200)",
                          f"{decision} of a pending request answered HTTP {response.status_code}", response)
                return item
            allowed = {REJECTED} if decision == REJECTED else APPROVAL_OUTCOMES
            if data.get("state") not in allowed:
                self.fail("checker_decides", "a decision ends the request as documented",
                          f"after {decision} the state is {data.get('state')!r}; documented {sorted(allowed)}", response)
            for problem in rules.details_on_decision(item.data, data, decision, message):
                self.fail("details_growth", "details grow step by step as documented", problem, response)
            item.data = data
            item.history.append(str(data.get("state")))
            ctx.remember(item.request_id, item.url_name, data.get("state"))
            return item

        # -- rules ---------------------------------------------------------------------
        @rule(target=pending, url_name=st.sampled_from(types), data=st.data())
        def create(self, url_name: str, data: st.DataObject) -> Any:
            body = data.draw(bodies[url_name], label="body")
            response = self.client.create(url_name, body, self.cast.maker)
            got = self.data_of(response) if response.status_code == 200 else None
            if got is None or "requestId" not in got:
                self.fail("valid_create_accepted", "a maker's valid create body is accepted (200)",
                          f"HTTP {response.status_code} for a body the {url_name} schema accepts", response)
                return multiple()
            if got.get("requestType") != rules.response_type_name(ctx.contract, url_name):
                self.fail("request_type_casing", "requestType is lower-kebab in responses",
                          f"requestType {got.get('requestType')!r} for {url_name}", response)
            for problem in rules.details_on_create(got, body):
                self.fail("details_growth", "details grow step by step as documented", problem, response)
            item = Modelled(got["requestId"], url_name, got, [str(got.get("state"))])
            self.model[item.request_id] = item
            ctx.remember(item.request_id, url_name, got.get("state"))
            return item if item.state == rules.PENDING else multiple()

        @precondition(lambda self: ctx.may_approve)
        @rule(target=decided, item=consumes(pending))
        def approve(self, item: Modelled) -> Modelled:
            return self.decide(item, APPROVED)

        @rule(target=decided, item=consumes(pending))
        def reject(self, item: Modelled) -> Modelled:
            return self.decide(item, REJECTED)

        @rule(item=decided, decision=st.sampled_from(DECISIONS))
        def decide_twice(self, item: Modelled, decision: str) -> None:
            if decision == APPROVED and not ctx.may_approve:
                decision = REJECTED
            response = self.client.decide(item.url_name, item.request_id, decision, self.cast.checker)
            ctx.observe(PHASE, response)
            problem = rules.expect_error(ctx.contract, response, 409, 2002)
            if problem:
                self.fail("decided_once", "a decided request cannot be decided again (409, 2002)", problem, response)

        @rule(item=pending)
        def self_approve(self, item: Modelled) -> None:
            decision = APPROVED if ctx.may_approve else REJECTED
            response = self.client.decide(item.url_name, item.request_id, decision, self.cast.maker)
            ctx.observe(PHASE, response)
            problem = rules.expect_error(ctx.contract, response, 403, 2001)
            if problem:
                self.fail("maker_is_not_checker", "the maker cannot decide their own request (403, 2001)",
                          problem, response)

        @rule(item=st.one_of(pending, decided))
        def read_one(self, item: Modelled) -> None:
            response = self.client.get(item.request_id, self.cast.checker)
            got = self.data_of(response) if response.status_code == 200 else None
            if got is None:
                self.fail("read_agrees_with_model", "a request the run made can be read (200)",
                          f"HTTP {response.status_code}", response)
                return
            self.compare(item, got, response, "read")

        @rule(states=st.sets(st.sampled_from(STATES), max_size=3), type_filter=st.none() | st.sampled_from(types),
              casing=st.booleans(), limit=st.integers(1, 5), page=st.integers(0, 2), mine=st.booleans())
        def list_page(self, states: set[str], type_filter: str | None, casing: bool, limit: int, page: int,
                      mine: bool) -> None:
            params: dict[str, Any] = {"limit": limit, "PageNo": page}
            if states:
                params["states"] = ",".join(sorted(states))
            if type_filter:
                params["requestType"] = rules.response_type_name(ctx.contract, type_filter) if casing else type_filter
            if mine and self.model:
                params["userId"] = next(iter(self.model.values())).data.get("userId")
            response = self.client.list(params, self.cast.checker)
            ctx.observe(PHASE, response)
            body = rules.json_or_none(response)
            if response.status_code != 200 or not isinstance(body, dict):
                self.fail("list_filters_and_pages", "a valid list query is answered (200)",
                          f"HTTP {response.status_code}", response)
                return
            self.check_page(body, params, states, type_filter, limit, page, response)

        # -- invariants ----------------------------------------------------------------
        def compare(self, item: Modelled, got: dict[str, Any], response: Any, how: str) -> None:
            for key in COMPARED:
                if got.get(key) != item.data.get(key):
                    check = "terminal_state_stays" if key == "state" and item.state in TERMINAL else "read_agrees_with_model"
                    self.fail(check, "every read agrees with what the run did (terminal states stay)",
                              f"{how}: {key} is {str(got.get(key))[:200]!r}; the run expects "
                              f"{str(item.data.get(key))[:200]!r} (history {item.history})", response)
                    return

        def check_page(self, body: dict[str, Any], params: dict[str, Any], states: set[str], type_filter: str | None,
                       limit: int, page: int, response: Any) -> None:
            check, rule_text = "list_filters_and_pages", "lists filter and page as asked"
            items = body.get("data") or []
            pagination = body.get("pagination") or {}
            wanted_type = rules.response_type_name(ctx.contract, type_filter) if type_filter else None
            for got in items:
                if states and got.get("state") not in states:
                    return self.fail(check, rule_text, f"state {got.get('state')!r} listed for states={params['states']}", response)
                if wanted_type and got.get("requestType") != wanted_type:
                    return self.fail(check, rule_text, f"type {got.get('requestType')!r} listed for "
                                                       f"requestType={params['requestType']}", response)
                if "userId" in params and got.get("userId") != params["userId"]:
                    return self.fail(check, rule_text, f"userId {got.get('userId')} listed for userId={params['userId']}", response)
                mine = self.model.get(got.get("requestId"))
                if mine is not None:
                    self.compare(mine, got, response, "list")
            total = pagination.get("totalElements", 0)
            expected_pages = math.ceil(total / limit) if total else 0
            problems = []
            if len(items) > limit:
                problems.append(f"{len(items)} items for limit={limit}")
            disorder = rules.default_order_problem(items)
            if disorder:
                problems.append(disorder)
            if pagination.get("numberOfElements") != len(items):
                problems.append(f"numberOfElements {pagination.get('numberOfElements')} but {len(items)} items")
            if pagination.get("number") != page:
                problems.append(f"page number {pagination.get('number')} for PageNo={page}")
            if pagination.get("totalPages") != expected_pages:
                problems.append(f"totalPages {pagination.get('totalPages')} for {total} elements at limit {limit}")
            expected_count = max(0, min(limit, total - page * limit))
            if len(items) != expected_count:
                problems.append(f"{len(items)} items on page {page}; {total} elements at limit {limit} give {expected_count}")
            matching = [m for m in self.model.values() if (not states or m.state in states)
                        and (not wanted_type or m.data.get("requestType") == wanted_type)
                        and ("userId" not in params or m.data.get("userId") == params["userId"])]
            if total < len(matching):
                problems.append(f"totalElements {total}, but the run made {len(matching)} matching requests")
            if problems:
                self.fail(check, rule_text, "; ".join(problems), response)

    return Lifecycle


def run_machine(ctx: RunContext) -> None:
    started = time.monotonic()
    machine = build_machine(ctx)
    runs = max(2, ctx.max_examples // 5)
    config = settings(max_examples=runs, stateful_step_count=15, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), derandomize=False)
    if ctx.seed is not None:
        machine = seed(ctx.seed)(machine)  # Hypothesis copies the factory's seed into the machine's test
    run_state_machine_as_test(machine, settings=config)
    ctx.report.phase(PHASE).seconds += time.monotonic() - started
