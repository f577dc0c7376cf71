"""Named flows: one deterministic scenario per row of the lifecycle table and per documented answer
a request can provoke, each its own JUnit testcase, beside the machine's random exploration.

    GOODWILL-POINTS: maker submits → checker approves → approved; deciding again is 409
    GOODWILL-POINTS: maker submits → checker approves, the wrapped call fails → failed; deciding again is 409
    ...

A flow sends the same requests for the same --seed (bodies are the documented ones, then bodies drawn
from the type's schema with that seed). Against a target that is not the mock nothing mock-only is
sent: what only a forced outcome reaches (a failed wrapped call) is reported unreached, never faked.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from capillary_contract import lifecycle, strategies
from capillary_contract.types import used_once_fields, value_at

from ..fixtures.lifecycle import FORCE_FAILURE

from . import checks as rules
from .background import run_in_threads
from .context import RunContext
from .coverage import (CHECKER, DECIDE, NO_PERMISSION, TRANSITIONS, TRUSTED, covered_operations,
                       decided_without_checker, transition_rows)
from .probes import Probe

PHASE = "flows"
DRAWN = 3  # bodies drawn per type when the documented one cannot reach a state (its reference is used)
# Over the documented limit (PayloadTooLarge: 1 MiB) whatever a deployment's exact limit is.
TOO_LARGE = 2 * 1024 * 1024 + 1


@dataclass(frozen=True)
class Flow:
    name: str
    rule: str
    run: Callable[[Probe], str | None]  # returns why the flow could not be checked, if it could not


def forced_failure(ctx: RunContext, url_name: str) -> dict[str, str] | None:
    """The mock's header that makes an approval's wrapped call fail (documented in the mock's own
    admin document, not in the contract; the fixtures force failures with the same header); None on
    any other target."""
    if not ctx.is_mock:
        return None
    return dict(FORCE_FAILURE)


class Bodies:
    """Create bodies per type: the documented one first, then a few drawn from the schema with the run's seed."""

    def __init__(self, ctx: RunContext, documented: dict[str, Any]):
        self.ctx, self.documented, self._drawn = ctx, documented, {}
        self._used_once: dict[str, list[tuple[str, tuple[str, ...]]]] = {}

    def candidates(self, url_name: str) -> Iterator[dict[str, Any]]:
        """The documented body, then (only if asked for more) the drawn ones: drawing takes seconds."""
        yield self.documented[url_name]
        yield from self.drawn(url_name)

    def fresh(self, url_name: str, body: dict[str, Any], flow: str) -> dict[str, Any]:
        """`body` with a new value in each field the contract marks `x-used-once` (a successful wrapped
        call uses it up): on a target that served earlier runs the documented reference is spent, and
        every approval with it ended failed (744), which read as a broken approval. The values follow
        from the run's seed, the flow and the body, so a run replays exactly with its seed (and one
        replayed against the target it ran on meets its own spent values)."""
        if url_name not in self._used_once:
            self._used_once[url_name] = used_once_fields(self.ctx.contract, url_name)
        fields = self._used_once[url_name]
        if not fields:
            return body
        salt = hashlib.sha256(json.dumps([self.ctx.seed, flow, body], sort_keys=True, default=str).encode()).hexdigest()
        body = copy.deepcopy(body)
        for index, (_, path) in enumerate(fields):
            parent = value_at(body, path[:-1])
            if isinstance(parent, dict) and parent.get(path[-1]) not in (None, ""):
                parent[path[-1]] = _fresh(parent[path[-1]], f"{salt}{index}")
        return body

    def drawn(self, url_name: str) -> list[dict[str, Any]]:
        if url_name not in self._drawn:
            self._drawn[url_name] = _draw(strategies.create_bodies(url_name, self.ctx.contract), self.ctx.seed or 0,
                                          DRAWN, exclude=self.documented[url_name])
        return self._drawn[url_name]


def _fresh(old: Any, salt: str) -> Any:
    """A value of `old`'s kind made from `salt`: a 9-digit number for a number, else `old` with a
    suffix (what it began with, such as `ACR-`, stays)."""
    digest = hashlib.sha256(salt.encode()).hexdigest()
    if isinstance(old, int) and not isinstance(old, bool):
        return 100_000_000 + int(digest, 16) % 900_000_000
    return f"{old}-{digest[:12]}"


class _Enough(BaseException):
    """Ends a draw once it has its values (a BaseException: Hypothesis passes it through, as StopRun)."""


def _draw(strategy: Any, seed: int, n: int, exclude: Any) -> list[Any]:
    """`n` distinct values of `strategy`, the same ones for the same seed (from at most 5n draws; the
    draw stops at the n-th, since each draw of a create body costs tens of milliseconds)."""
    from hypothesis import HealthCheck, Phase, given, settings, seed as seeded

    out: list[Any] = []
    halted = threading.Event()

    @seeded(seed)
    @settings(max_examples=n * 5, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        if halted.is_set():
            raise _Enough()
        if value != exclude and value not in out:
            out.append(value)
        if len(out) >= n:
            raise _Enough()

    def draw() -> None:
        try:
            collect()
        except _Enough:
            pass

    run_in_threads([draw], halted.set, 5.0, "flows-draw")  # a signal halts the draw at its next value
    return out


class FlowRun(Probe):
    """A probe's helpers, reporting under the flow's name in the flows phase."""

    phase = PHASE

    def decide(self, url_name: str, data: dict[str, Any], decision: str, headers: dict[str, str] | None = None
               ) -> dict[str, Any] | None:
        checker = self.ctx.cast.checker
        if headers:
            checker = dataclasses.replace(checker, headers={**checker.headers, **headers})
        response = self.client.decide(url_name, data["requestId"], decision, checker)
        self.count(response)
        after = (rules.json_or_none(response) or {}).get("data") if response.status_code == 200 else None
        if not isinstance(after, dict):
            self.fail(f"the checker's {decision} was refused (HTTP {response.status_code})", response)
            return None
        self.ctx.remember(data["requestId"], url_name, after.get("state"))
        return after

    def decided_again(self, url_name: str, data: dict[str, Any]) -> None:
        final = data.get("state")
        for again in ("rejected", self.safe_decision):
            self.expect(self.client.decide(url_name, data["requestId"], again, self.ctx.cast.checker), 409, 2002,
                        f"deciding ({again}) a request already {final}")


def _unreached(ctx: RunContext, url_name: str, source: str, action: str, role: str, result: str, why: str) -> None:
    if ctx.coverage is not None:
        ctx.coverage.cannot_reach(TRANSITIONS, (url_name, source, action, role, result), why)


# -- the flows of one type --------------------------------------------------------------------
def _decision_flow(url_name: str, decision: str, outcome: str, bodies: Bodies) -> Flow:
    verb = {"approved": "approves", "rejected": "rejects"}[decision]
    fails = outcome == lifecycle.FAILED
    name = (f"{url_name}: maker submits → checker {verb}" + (", the wrapped call fails" if fails else "")
            + f" → {outcome}; deciding again is 409")
    action = lifecycle.APPROVE if decision == "approved" else lifecycle.REJECT

    def run(p: FlowRun) -> str | None:
        ctx = p.ctx
        if decision == "approved" and not ctx.may_approve:
            why = "approvals are off (a non-loopback target without --allow-approve)"
            _unreached(ctx, url_name, lifecycle.PENDING, action, CHECKER, outcome, why)
            _unreached(ctx, url_name, outcome, DECIDE, CHECKER, "409", why)
            return why
        force = forced_failure(ctx, url_name) if fails else None
        if fails and force is None:
            why = "a failed wrapped call needs a forced outcome (X-Mock-Outcome), which only the mock takes"
            _unreached(ctx, url_name, lifecycle.PENDING, action, CHECKER, outcome, why)
            _unreached(ctx, url_name, outcome, DECIDE, CHECKER, "409", why)
            return why
        for body in (bodies.candidates(url_name) if outcome == lifecycle.APPROVED else [bodies.documented[url_name]]):
            data = p.create(url_name, body=bodies.fresh(url_name, body, name))
            if data is None:
                return None
            after = p.decide(url_name, data, decision, force)
            if after is None:
                return None
            p.decided_again(url_name, after)  # any decided request refuses a second decision
            if after.get("state") == outcome:
                return None
        p.fail(f"no {url_name} request ended {outcome} (tried the documented body and {DRAWN} drawn ones)",
               operation=f"PUT {ctx.contract.create_path(url_name)}")
        return None

    return Flow(name, f"a checker's {decision} ends the request {outcome}; a decided request is never decided again",
                run)


def _refusal_flow(url_name: str, bodies: Bodies) -> Flow:
    name = f"{url_name}: the maker, a user without permission and a checker creating are refused (403); still AdminTask"

    def run(p: FlowRun) -> str | None:
        ctx = p.ctx
        body = bodies.documented[url_name]
        viewer = ctx.cast.get("viewer")
        if viewer is None:
            for source, action in ((lifecycle.NEW, lifecycle.CREATE), (lifecycle.PENDING, DECIDE)):
                _unreached(ctx, url_name, source, action, NO_PERMISSION, "403",
                           "needs a user without permissions (--viewer-auth)")
        else:
            p.expect(p.client.create(url_name, body, viewer), 403, 2001, "a user without permissions creating")
        data = p.create(url_name, body=body)
        if data is None:
            return None
        p.expect(p.client.decide(url_name, data["requestId"], p.safe_decision, ctx.cast.maker), 403, 2001,
                 "the maker deciding their own request")
        if viewer is not None:
            p.expect(p.client.decide(url_name, data["requestId"], p.safe_decision, viewer), 403, 2001,
                     "a user without permissions deciding")
        p.still_pending(data, "refused decisions")
        return None

    return Flow(name, "deciding needs CanCheckRequest and another user than the maker (403, 2001)", run)


def _trusted_flow(url_name: str, bodies: Bodies) -> Flow:
    name = f"{url_name}: a trusted integration submits → decided at once (approved; the same call again → failed)"

    def run(p: FlowRun) -> str | None:
        ctx = p.ctx
        integration = ctx.cast.get("integration")
        if integration is None or not ctx.may_approve:
            why = ("needs a trusted integration (--integration-auth)" if integration is None
                   else "approvals are off (a non-loopback target without --allow-approve)")
            for state in (lifecycle.APPROVED, lifecycle.FAILED):
                _unreached(ctx, url_name, lifecycle.NEW, lifecycle.AUTO, TRUSTED, state, why)
            return why
        for body in (bodies.fresh(url_name, drawn, name) for drawn in bodies.drawn(url_name)):
            data = p.create(url_name, integration, body)
            if data is None:
                return None
            if data.get("state") == lifecycle.APPROVED:
                # The wrapped call's documented rule: the same call succeeds once (a reference used up).
                again = p.create(url_name, integration, body)
                if again is not None and again.get("state") not in lifecycle.TERMINAL:
                    p.fail(f"a trusted integration's {url_name} is {again.get('state')!r}; it is decided at once",
                           operation=f"POST {ctx.contract.create_path(url_name)}")
                return None
        p.fail(f"no trusted {url_name} request was approved at once", operation=f"POST {ctx.contract.create_path(url_name)}")
        return None

    return Flow(name, "a trusted integration's request skips the checker: approved or failed at once", run)


def type_flows(ctx: RunContext, bodies: Bodies) -> list[Flow]:
    out = []
    trusted = decided_without_checker(ctx.contract)
    for url_name in sorted(ctx.contract.request_types):
        rows = {(source, action, result) for source, action, _, result in transition_rows(ctx.contract, url_name)}
        for decision, action, outcome in (("approved", lifecycle.APPROVE, lifecycle.APPROVED),
                                          ("approved", lifecycle.APPROVE, lifecycle.FAILED),
                                          ("rejected", lifecycle.REJECT, lifecycle.REJECTED)):
            if (lifecycle.PENDING, action, outcome) in rows:
                out.append(_decision_flow(url_name, decision, outcome, bodies))
        out.append(_refusal_flow(url_name, bodies))
        out.append(_breaks_flow(url_name, bodies))
        if url_name in trusted:
            out.append(_trusted_flow(url_name, bodies))
    return out


def _breaks_flow(url_name: str, bodies: Bodies) -> Flow:
    name = f"{url_name}: each single-rule break of the documented body answers its documented status and code"

    def run(p: FlowRun) -> str | None:
        from capillary_contract.breaks import invalid_create_bodies

        for broken in invalid_create_bodies(p.contract, url_name, bodies.documented[url_name]):
            p.expect(p.client.create(url_name, broken.body, p.ctx.cast.maker), broken.status, broken.code,
                     f"a body breaking {broken.rule} at {broken.field or '/'} ({broken.name})")
        return None

    return Flow(name, "a body that breaks one rule is refused with the code the contract ties to that rule", run)


# -- answers every operation with a body documents ----------------------------------------------
def _body_answers_flow() -> Flow:
    name = "every operation with a body: a body over the limit is 413, a body that is not JSON is 415"

    def run(p: FlowRun) -> str | None:
        ctx = p.ctx
        for op in covered_operations(ctx.contract):
            if "requestBody" not in op.raw:
                continue
            documented = set(op.raw["responses"])
            paths = ([ctx.contract.create_path(t) for t in sorted(ctx.contract.request_types)
                      if ctx.contract.match(op.method, ctx.contract.create_path(t))[0] is op]
                     if "{" in op.path else [op.path])
            who = ctx.cast.checker if "CanCheckRequest" in op.raw.get("x-permissions", []) else ctx.cast.maker
            if op.path.startswith("/v1.1/") and "Authorization" not in who.headers:
                continue  # v1.1 takes Basic auth only
            headers = who.with_org(who.org) if not op.path.startswith("/v1.1/") else dict(who.headers)
            for path in paths[:1]:
                if "413" in documented:
                    answer = p.client.raw(op.method.upper(), path, headers={**headers, "Content-Type": "application/json"},
                                          data=b'{"pad": "' + b"x" * TOO_LARGE + b'"}')
                    p.count(answer)
                    if answer.status_code != 413:
                        p.fail(f"{op.operation_id}: a body over {TOO_LARGE} bytes answered HTTP {answer.status_code}; "
                               "documented: 413", answer)
                if "415" in documented:
                    answer = p.client.raw(op.method.upper(), path, headers={**headers, "Content-Type": "text/plain"},
                                          data=b"not json")
                    p.count(answer)
                    if answer.status_code != 415:
                        p.fail(f"{op.operation_id}: a text/plain body answered HTTP {answer.status_code}; documented: 415",
                               answer)
        return None

    return Flow(name, "bodies too large are 413, bodies that are not JSON are 415 (openapi.yaml responses)", run)


def _legacy_flow() -> Flow:
    name = "v1.1: maker adds → checker approves (200); maker adds → checker rejects (200); no permission is 403"

    def run(p: FlowRun) -> str | None:
        ctx = p.ctx
        maker, checker = ctx.cast.maker, ctx.cast.checker
        if "Authorization" not in maker.headers or "Authorization" not in checker.headers:
            return "v1.1 takes Basic auth only"
        examples = ctx.contract.operations["addLegacyRequests"].raw["requestBody"]["content"]["application/json"]["examples"]
        items = [e["value"]["root"]["request"][0] for e in examples.values()]
        for verb in ("approve", "reject"):
            if verb == "approve" and not ctx.may_approve:
                continue
            added = None
            for number, item in enumerate(items):  # the next documented item if one's value is taken
                sent = {"root": {"request": [{**item, "reference_id": f"contracts-{ctx.seed}-{verb}-{number}"}]}}
                answer = p.client.raw("POST", "/v1.1/request/add", params={"format": "json"}, json=sent,
                                      headers=maker.headers)
                p.count(answer)
                got = ((((rules.json_or_none(answer) or {}).get("response") or {}).get("requests") or {})
                       .get("request") or [{}])[0]
                if answer.status_code == 200 and got.get("id"):
                    added = got
                    break
            if added is None:
                p.fail("the maker could not add a v1.1 request with any documented item", answer)
                return None
            decision = {"root": {"request": [{"id": added["id"], "type": added.get("type"),
                                              "base_type": added.get("base_type"),
                                              "updated_comments": f"{verb} by the contract suite"}]}}
            answer = p.client.raw("POST", f"/v1.1/request/{verb}", params={"format": "json"}, json=decision,
                                  headers=checker.headers)
            p.count(answer)
            if answer.status_code != 200:
                p.fail(f"the checker's v1.1 {verb} answered HTTP {answer.status_code}", answer)
        viewer = ctx.cast.get("viewer")
        if viewer is None:
            return None
        for op in covered_operations(ctx.contract):
            if not op.path.startswith("/v1.1/") or "403" not in op.raw["responses"]:
                continue
            examples = (((op.raw.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("examples") or {}
            sent = next(iter(examples.values()))["value"] if examples else None
            answer = p.client.raw(op.method.upper(), op.path, params={"format": "json"}, headers=viewer.headers,
                                  **({"json": sent} if sent is not None else {}))
            p.count(answer)
            if answer.status_code != 403:
                p.fail(f"{op.operation_id} by a user without permissions answered HTTP {answer.status_code}; "
                       "documented: 403", answer)
        return None

    return Flow(name, "v1.1 decisions answer 200; users without the permission are refused (403)", run)


def all_flows(ctx: RunContext, bodies: Bodies) -> list[Flow]:
    return [*type_flows(ctx, bodies), _body_answers_flow(), _legacy_flow()]


def run_flows(ctx: RunContext) -> None:
    from capillary_contract.examples import documented_bodies

    bodies = Bodies(ctx, documented_bodies(ctx.contract))
    for flow in all_flows(ctx, bodies):
        why = flow.run(FlowRun(ctx, flow.name, flow.rule))
        if why:
            ctx.report.not_checked(PHASE, flow.name, why)
        else:
            ctx.report.passed(PHASE, flow.name)  # a JUnit test case; it fails if a finding names it
