"""The lifecycle machine: a Hypothesis RuleBasedStateMachine over create / approve / reject /
decide twice / self-approve / read one / list, holding a model of every request it made.

Every read is compared with the model; lists must filter and page as asked; a decided
request must stay decided. Failures are reported instead of raised, so one broken rule does not
stop the others from being exercised. Each modelled request keeps the exchanges that made its
history, so a failure about a request comes with the minimal sequence that shows it (create -> its
id -> decide -> decide again), replayable as a script; a rule the run never managed to exercise
(say, no request ever reached AdminTask, so nothing was approved) is reported as not checked.
It talks HTTP only, so it runs against any base URL.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, seed, settings, strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, consumes, multiple, precondition, rule,
                                 run_state_machine_as_test)

from capillary_contract import strategies
from capillary_contract.examples import documented_bodies
from capillary_contract.lifecycle import APPROVAL_OUTCOMES, APPROVED, DECISIONS, REJECTED, STATES, TERMINAL

from . import checks as rules
from .background import HALT_WAIT, run_in_threads
from .context import RunContext
from .reproduction import Exchange, exchange_of
from .selection import operations_named

PHASE = "machine"
COMPARED = ("requestId", "requestType", "state", "userId", "endTime", "details")
USES = ("createRequest", "decideRequest", "getRequest", "listRequests")
# rule -> (the operation it calls, the checks it applies (its own first), what it needs to run at all)
EXERCISED = {
    "create": ("createRequest", ("valid_create_accepted", "request_type_casing", "details_growth"), "a valid create"),
    "approve": ("decideRequest", ("checker_approves", "details_growth"), "a request in AdminTask"),
    "reject": ("decideRequest", ("checker_rejects", "details_growth"), "a request in AdminTask"),
    "decide_twice": ("decideRequest", ("decided_once",), "a decided request"),
    "self_approve": ("decideRequest", ("maker_is_not_checker",), "the supervisor (--supervisor-auth), both permissions"),
    "read_one": ("getRequest", ("read_agrees_with_model", "terminal_state_stays"), "a request the run made"),
    "list_page": ("listRequests", ("list_filters_and_pages",), "a list answer"),
}


@dataclass
class Modelled:
    request_id: str
    url_name: str
    data: dict[str, Any]
    history: list[str] = field(default_factory=list)
    steps: list[Exchange] = field(default_factory=list)  # the exchanges that made this request's history

    @property
    def state(self) -> str:
        return self.data["state"]


def build_machine(ctx: RunContext, exercised: dict[str, int]) -> type[RuleBasedStateMachine]:
    bodies = {url_name: strategies.create_bodies(url_name, ctx.contract) for url_name in ctx.contract.request_types}
    documented = documented_bodies(ctx.contract)
    types = sorted(ctx.contract.request_types)

    class Lifecycle(RuleBasedStateMachine):
        pending = Bundle("pending")
        decided = Bundle("decided")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, Modelled] = {}
            self.client = ctx.client()
            self.cast = ctx.cast
            self.done: set[str] = set()  # the rules this run exercised (the teardown sweeps up the others)

        # -- helpers -------------------------------------------------------------------
        def fail(self, check: str, rule_text: str, message: str, response: Any = None, operation: str = "",
                 item: Modelled | None = None) -> None:
            if response is not None and not operation:
                operation = ctx.label_of(response)
            steps = list(item.steps) if item is not None else []
            if steps and response is not None:
                last = exchange_of(response)
                if last is not None and (last.method, last.url, last.body) != (steps[-1].method, steps[-1].url,
                                                                              steps[-1].body):
                    steps.append(self.step(response, item.request_id))
            ctx.fail(PHASE, check, rule_text, operation, message, response, steps=steps if len(steps) > 1 else None)

        def ran(self, rule_name: str, response: Any) -> None:
            """The rule ran: its checks are test cases of the operation it called."""
            exercised[rule_name] = exercised.get(rule_name, 0) + 1
            self.done.add(rule_name)
            for check in EXERCISED[rule_name][1]:
                ctx.report.passed(PHASE, check, ctx.label_of(response))

        @staticmethod
        def step(response: Any, request_id: str, created: bool = False) -> Exchange:
            exchange = exchange_of(response)
            exchange.request_id, exchange.created = request_id, created
            return exchange

        def data_of(self, response: Any) -> dict[str, Any] | None:
            ctx.observe(PHASE, response)
            body = rules.json_or_none(response)
            data = body.get("data") if isinstance(body, dict) else None
            return data if isinstance(data, dict) else None

        def decide(self, item: Modelled, decision: str) -> Modelled:
            message = f"{decision} by the lifecycle machine"
            response = self.client.decide(item.url_name, item.request_id, decision, self.cast.checker, message)
            self.ran("approve" if decision == APPROVED else "reject", response)
            data = self.data_of(response) if response.status_code == 200 else None
            check = "checker_approves" if decision == APPROVED else "checker_rejects"
            if data is None:
                self.fail(check, "a checker decides a pending request (200)",
                          f"{decision} of a pending request answered HTTP {response.status_code}", response, item=item)
                return item
            allowed = {REJECTED} if decision == REJECTED else APPROVAL_OUTCOMES
            if data.get("state") not in allowed:
                self.fail(check, "a decision ends the request as documented",
                          f"after {decision} the state is {data.get('state')!r}; documented {sorted(allowed)}",
                          response, item=item)
            for problem in rules.details_on_decision(item.data, data, decision, message):
                self.fail("details_growth", "details grow step by step as documented", problem, response, item=item)
            item.steps.append(self.step(response, item.request_id))
            ctx.remember(item.request_id, item.url_name, None, decision=decision, comment=message)
            item.data = data
            item.history.append(str(data.get("state")))
            ctx.remember(item.request_id, item.url_name, data.get("state"))
            return item

        # -- rules ---------------------------------------------------------------------
        @rule(target=pending, url_name=st.sampled_from(types), data=st.data())
        def create(self, url_name: str, data: st.DataObject) -> Any:
            body = data.draw(bodies[url_name], label="body")
            response = self.client.create(url_name, body, self.cast.maker)
            self.ran("create", response)
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
            item = Modelled(got["requestId"], url_name, got, [str(got.get("state"))],
                            [self.step(response, got["requestId"], created=True)])
            self.model[item.request_id] = item
            ctx.remember(item.request_id, url_name, got.get("state"), wrapped=body["payload"]["IntouchAPITask-Payload"])
            if item.state == rules.PENDING:
                exercised["pending"] = exercised.get("pending", 0) + 1
                return item
            return multiple()

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
            self.ran("decide_twice", response)
            ctx.observe(PHASE, response)
            problem = rules.expect_error(ctx.contract, response, 409, 2002)
            if problem:
                self.fail("decided_once", "a decided request cannot be decided again (409, 2002)", problem, response,
                          item=item)

        @precondition(lambda self: self.cast.get("supervisor") is not None)
        @rule(url_name=st.sampled_from(types), data=st.data())
        def self_approve(self, url_name: str, data: st.DataObject) -> None:
            self.four_eyes(url_name, data.draw(bodies[url_name], label="body"))

        def four_eyes(self, url_name: str, body: dict[str, Any]) -> None:
            """The supervisor holds both permissions, so a 403 on its own request is for four-eyes."""
            supervisor = self.cast.get("supervisor")
            created = self.client.create(url_name, body, supervisor)
            got = self.data_of(created) if created.status_code == 200 else None
            if got is None or got.get("state") != rules.PENDING:
                return
            item = Modelled(got["requestId"], url_name, got, [rules.PENDING], [self.step(created, got["requestId"], True)])
            ctx.remember(item.request_id, url_name, rules.PENDING, wrapped=body["payload"]["IntouchAPITask-Payload"])
            decision = APPROVED if ctx.may_approve else REJECTED
            response = self.client.decide(url_name, item.request_id, decision, supervisor)
            self.ran("self_approve", response)
            ctx.observe(PHASE, response)
            problem = rules.expect_error(ctx.contract, response, 403, 2001)
            if problem:
                self.fail("maker_is_not_checker", "the maker cannot decide their own request, even with "
                          "CanCheckRequest (403, 2001)", problem, response, item=item)
            else:
                item.steps.append(self.step(response, item.request_id))
            read = self.client.get(item.request_id, supervisor)
            after = self.data_of(read)
            if after is not None and after.get("state") != rules.PENDING:
                self.fail("maker_is_not_checker", "a refused self-decision leaves the request pending",
                          f"after the supervisor's own {decision} the request is {after.get('state')!r}", read,
                          item=item)

        @rule(item=st.one_of(pending, decided))
        def read_one(self, item: Modelled) -> None:
            response = self.client.get(item.request_id, self.cast.checker)
            self.ran("read_one", response)
            got = self.data_of(response) if response.status_code == 200 else None
            if got is None:
                self.fail("read_agrees_with_model", "a request the run made can be read (200)",
                          f"HTTP {response.status_code}", response, item=item)
                return
            self.compare(item, got, response, "read")

        @rule(states=st.sets(st.sampled_from(STATES), max_size=3), type_filter=st.none() | st.sampled_from(types),
              casing=st.booleans(), limit=st.integers(1, 5), page=st.integers(0, 2), mine=st.booleans(),
              sort=st.none() | st.tuples(st.sampled_from(["startDate", "endDate"]), st.sampled_from(["asc", "desc"])))
        def list_page(self, states: set[str], type_filter: str | None, casing: bool, limit: int, page: int,
                      mine: bool, sort: tuple[str, str] | None) -> None:
            self.list_and_check(states, type_filter, casing, limit, page, mine, sort)

        def list_and_check(self, states: set[str], type_filter: str | None, casing: bool, limit: int, page: int,
                           mine: bool, sort: tuple[str, str] | None = None) -> None:
            params: dict[str, Any] = {"limit": limit, "PageNo": page}
            if sort:
                params["sortBy"], params["sortOrder"] = sort
            if states:
                params["states"] = ",".join(sorted(states))
            if type_filter:
                params["requestType"] = rules.response_type_name(ctx.contract, type_filter) if casing else type_filter
            if mine and self.model:
                params["userId"] = next(iter(self.model.values())).data.get("userId")
            response = self.client.list(params, self.cast.checker)
            self.ran("list_page", response)
            ctx.observe(PHASE, response)
            body = rules.json_or_none(response)
            if response.status_code != 200 or not isinstance(body, dict):
                self.fail("list_filters_and_pages", "a valid list query is answered (200)",
                          f"HTTP {response.status_code}", response)
                return
            self.check_page(body, params, states, type_filter, limit, page, response)

        def teardown(self) -> None:
            """At the end of every run, each rule the random steps left out is exercised once where it can be
            (reject, approve, decide again, read, four-eyes), then one list per state the run's requests took:
            a broken rule or an ignored filter shows whichever way the steps fell."""
            pending = [m for m in self.model.values() if m.state == rules.PENDING]
            if "reject" not in self.done and pending:
                self.reject(pending.pop())
            if "approve" not in self.done and ctx.may_approve and pending:
                self.approve(pending.pop())
            decided = [m for m in self.model.values() if m.state in TERMINAL]
            if "decide_twice" not in self.done and decided:
                self.decide_twice(decided[0], REJECTED)
            if "read_one" not in self.done and self.model:
                self.read_one(next(iter(self.model.values())))
            if "self_approve" not in self.done and self.cast.get("supervisor") is not None:
                self.four_eyes(types[0], documented[types[0]])
            for state in sorted({m.state for m in self.model.values()}):
                self.list_and_check({s for s in STATES if s != state}, None, False, 5, 0, False)
            if self.model:  # and each documented order once, on a page long enough to span minutes
                for sort in (None, ("startDate", "asc"), ("endDate", "desc")):
                    self.list_and_check(set(), None, False, 50, 0, False, sort)

        # -- invariants ----------------------------------------------------------------
        def compare(self, item: Modelled, got: dict[str, Any], response: Any, how: str) -> None:
            for key in COMPARED:
                if got.get(key) != item.data.get(key):
                    check = "terminal_state_stays" if key == "state" and item.state in TERMINAL else "read_agrees_with_model"
                    self.fail(check, "every read agrees with what the run did (terminal states stay)",
                              f"{how}: {key} is {str(got.get(key))[:200]!r}; the run expects "
                              f"{str(item.data.get(key))[:200]!r} (history {item.history})", response,
                              item=item if how == "read" else None)
                    return

        def check_page(self, body: dict[str, Any], params: dict[str, Any], states: set[str], type_filter: str | None,
                       limit: int, page: int, response: Any) -> None:
            check, rule_text = "list_filters_and_pages", "lists filter and page as asked"
            items = body.get("data") or []
            pagination = body.get("pagination") or {}
            wanted_type = rules.response_type_name(ctx.contract, type_filter) if type_filter else None
            for got in items:
                if states and got.get("state") not in states:
                    return self.fail(check, rule_text, f"state {got.get('state')!r} listed for states={params['states']!r}", response)
                if wanted_type and got.get("requestType") != wanted_type:
                    return self.fail(check, rule_text, f"type {got.get('requestType')!r} listed for "
                                                       f"requestType={params['requestType']!r}", response)
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
            disorder = (rules.sort_order_problem(items, params["sortBy"], params["sortOrder"]) if "sortBy" in params
                        else rules.default_order_problem(items))
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
    left_out = ctx.selection.missing(ctx.contract, USES)
    if left_out:
        for rule_name, (op_id, checks, _) in EXERCISED.items():
            ctx.report.not_checked(PHASE, checks[0], f"excluded: the machine uses {', '.join(left_out)}",
                                   _label(ctx, op_id))
        return
    exercised: dict[str, int] = {}
    machine = build_machine(ctx, exercised)
    runs = max(2, ctx.max_examples // 2)  # the default 10 gives the 5 runs of 15 steps the machine has always had
    config = settings(max_examples=runs, stateful_step_count=15, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), derandomize=False)
    if ctx.seed is not None:
        machine = seed(ctx.seed)(machine)  # Hypothesis copies the factory's seed into the machine's test

    def explore() -> None:
        try:
            with with_reporter(lambda *_: None):
                run_state_machine_as_test(machine, settings=config)
        finally:
            _say_what_never_ran(ctx, exercised)

    # Off the main thread (background.py): a signal halts the machine at its next request.
    run_in_threads([explore], lambda: ctx.report.halt("halted by a signal"), HALT_WAIT, "machine")


def _say_what_never_ran(ctx: RunContext, exercised: dict[str, int]) -> None:
    """A rule the machine never exercised is loud, with the likely reason."""
    if ctx.report.stopped:
        return
    for rule_name, (op_id, checks, needs) in EXERCISED.items():
        if exercised.get(rule_name):
            continue
        why = f"never exercised: the {rule_name} step needs {needs}"
        if rule_name in ("approve", "reject", "decide_twice", "self_approve") and not exercised.get("pending"):
            why += "; no request the machine created ever reached AdminTask"
        if rule_name == "approve" and not ctx.may_approve:
            why = "approvals are off (non-loopback target without --allow-approve)"
        ctx.report.not_checked(PHASE, checks[0], f"{rule_name}: {why}", _label(ctx, op_id))


def _label(ctx: RunContext, op_id: str) -> str:
    """`METHOD /path` of an operation; of a workflow role (`createRequest`), its types' path with `<TYPE>`."""
    ops = [ctx.contract.operations[o] for o in operations_named(ctx.contract, op_id)]
    paths = {op.path for op in ops}
    path = ops[0].path if len(paths) == 1 else os.path.commonprefix(sorted(paths)).rpartition("/")[0] + "/<TYPE>"
    return f"{ops[0].method.upper()} {path}"
