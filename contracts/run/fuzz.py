"""Schema-driven fuzzing on Schemathesis's engine: every workflow and legacy operation, in
positive and negative mode, each answer judged by Schemathesis's checks plus our domain checks.

The suite adds only what Schemathesis cannot know: who sends each operation (maker or
checker), the organisation header fixed to the run's org (so a valid case is valid for this
caller), and the safety rule (no approvals against a shared target unless allowed).

The cases are drawn in generator processes (generation.py) and sent and judged here, in the
process that holds the run's report, coverage and created requests.
"""
from __future__ import annotations

from typing import Any, Callable

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.reporting import with_reporter
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import *  # noqa: F401,F403  (registers the failure types)
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi import checks as st_checks
from schemathesis.checks import not_a_server_error

from capillary_contract.http import ORG_HEADER, TRANSPORT_HEADERS
from capillary_contract.lifecycle import APPROVED, REJECTED

from capillary_contract.strategies import openapi_schema

from . import checks as domain
from .background import HALT_WAIT, run_in_threads
from .context import RunContext
from .findings import Finding
from .identities import Identity
from .generation import CASE, STARTED, Generators, fuzz_generators
from .report import StopRun
from .reproduction import exchange_of
from .spec import fuzzed_operations, is_create, is_decide, operation_id

PHASE = "fuzz"
BASE_CHECKS = [not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
               st_checks.response_schema_conformance, domain.documented_error_catalogue, domain.request_type_casing]
# Operations whose valid input must be accepted whatever the target holds (and every create).
STATELESS_VALID = ("listRequests", "getRequest", "getLegacyRequests", "getLegacyRequestLogs")
BATCH_AWARE_REJECTION = domain.make_batch_rejection_check(st_checks.negative_data_rejection)
CHECKER_OPS = ("approveLegacyRequests", "rejectLegacyRequests")  # and every decide


def _identity(ctx: RunContext, op_id: str) -> Identity:
    checker = op_id in CHECKER_OPS or is_decide(ctx.contract, op_id)
    return ctx.cast.checker if checker else ctx.cast.maker


def label_of(op: Any, mode: GenerationMode) -> str:
    """The operation's template and the generation mode: the same name in every run."""
    return f"{op.method.upper()} {op.path} [{mode.value}]"


def _jobs(ctx: RunContext, quiet: bool = False) -> list[tuple[Any, GenerationMode]]:
    jobs = []
    for op in fuzzed_operations(openapi_schema(ctx.contract)):
        op_id = operation_id(op)
        tags = op.definition.raw.get("tags", [])
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        legacy = op.path.startswith("/v1.1/")
        why = None
        if not ctx.selection.selects(op_id, tags, op.method, op.path, ctx.contract):
            why = "excluded by --include/--exclude"
        elif legacy and "Authorization" not in _identity(ctx, op_id).headers:
            why = "v1.1 takes Basic auth only"
        elif op_id == "approveLegacyRequests" and not ctx.may_approve:
            why = "approvals need --allow-approve on a non-loopback target"
        if why is None:
            jobs += [(op, mode) for mode in modes]
        elif not quiet:
            ctx.report.skip(PHASE, f"{op_id}: {why}")
            for mode in modes:
                ctx.report.not_checked(PHASE, "every check", why, label_of(op, mode))
    return jobs


def _checks_for(op_id: str, mode: GenerationMode, code_check: Any, create: bool) -> list[Any]:
    out = list(BASE_CHECKS)
    if mode.is_negative:
        out += [BATCH_AWARE_REJECTION, code_check]
    elif create or op_id in STATELESS_VALID:
        out.append(st_checks.positive_data_acceptance)
    return out


# Headers that frame the HTTP message or concern one hop (TRANSPORT_HEADERS): a made-up value breaks
# HTTP itself, and the server's HTTP parser, not the API, refuses it, so they are never generated.


def _drop_transport_headers(case: Any) -> None:
    if case.headers:
        for name in [n for n in case.headers if n.lower() in TRANSPORT_HEADERS]:
            del case.headers[name]


def _make_safe(ctx: RunContext, op_id: str, case: Any) -> None:
    """Against a shared target a generated approval becomes a rejection."""
    if is_decide(ctx.contract, op_id) and not ctx.may_approve and isinstance(case.body, dict):
        payload = case.body.get("payload")
        inner = payload.get("AdminTask-Payload") if isinstance(payload, dict) else None
        if isinstance(inner, dict) and inner.get("actionDecision") == APPROVED:
            inner["actionDecision"] = REJECTED


def _fixed_headers(op: Any, who: Identity) -> dict[str, str] | None:
    return {ORG_HEADER: who.org} if any(p.name == ORG_HEADER for p in op.headers) else None


def draws(ctx: RunContext) -> tuple[list[str], dict[int, str], Callable[[int, Callable[[Any], None]], None]]:
    """What a generator process draws (generation.Drawer): the run's jobs, each operation named by
    its key, and each job's cases, made safe for the target before they are handed over."""
    jobs = _jobs(ctx, quiet=True)

    def draw(index: int, emit: Callable[[Any], None]) -> None:
        op, mode = jobs[index]
        op_id = operation_id(op)
        strategy = op.as_strategy(generation_mode=mode, headers=_fixed_headers(op, _identity(ctx, op_id)))

        @settings(max_examples=ctx.max_examples, database=None, deadline=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=strategy)
        def run(case: Any) -> None:
            _make_safe(ctx, op_id, case)
            _drop_transport_headers(case)
            emit(case)

        if ctx.seed is not None:
            run = seed(ctx.seed)(run)
        with with_reporter(lambda *_: None):  # Hypothesis's own notes (seeds, falsifying examples) would garble the output
            run()

    return [label_of(op, mode) for op, mode in jobs], {id(op): _key(op) for op, _ in jobs}, draw


def _key(op: Any) -> str:
    return f"{op.method.upper()} {op.path}"


def _judge(ctx: RunContext, op: Any, mode: GenerationMode) -> Callable[[Any], None]:
    """Sends one job's cases and judges each answer (in the parent, which holds the run's report,
    coverage and created requests); the job's checks count as run from its start."""
    op_id = operation_id(op)
    who = _identity(ctx, op_id)
    sent_headers = {**who.headers, **(_fixed_headers(op, who) or {})}
    code_check = domain.make_documented_code_check(lambda case: sent_headers)
    checks = _checks_for(op_id, mode, code_check, is_create(ctx.contract, op_id))
    label = label_of(op, mode)
    for check in checks:
        ctx.report.passed(PHASE, check.__name__, label)

    def send_and_judge(case: Any) -> None:
        try:
            response = case.call(ctx.base_url, session=ctx.session(), headers=who.headers)
        except requests.RequestException as exc:
            ctx.report.add(Finding(PHASE, "transport_error", "the target answers every request", label,
                                   f"{exc.__class__.__name__}: {exc}"))
            return
        ctx.report.count(PHASE)
        _remember_created(ctx, op_id, response)
        try:
            case.validate_response(response, checks=checks, headers=sent_headers,
                                   transport_kwargs={"base_url": ctx.base_url, "headers": who.headers})
        except FailureGroup as group:
            _add_failures(ctx, label, list(group.exceptions), response)
        except Failure as failure:
            _add_failures(ctx, label, [failure], response)

    return send_and_judge


def _add_failures(ctx: RunContext, label: str, failures: list[Failure], response: Any) -> None:
    """One finding per failure; a schema error's cause is the field it broke (as the probes and the machine
    name it, so one broken field is one problem across phases)."""
    exchange = exchange_of(response)
    for failure in failures:
        check = (type(failure).checks or ("",))[0] or _custom_name(failure.title)
        cause = domain.schema_cause("/".join(map(str, failure.instance_path))) \
            if isinstance(failure, JsonSchemaError) else None
        ctx.report.add(Finding(PHASE, check, failure.title, label, failure.message or failure.title, exchange,
                               cause=cause))


def _custom_name(title: str) -> str:
    # "Custom check failed: `name`" -> name
    return title.split("`")[1] if "`" in title else title


def _remember_created(ctx: RunContext, op_id: str, response: Any) -> None:
    if is_create(ctx.contract, op_id) and response.status_code == 200:
        data = (domain.json_or_none(response) or {}).get("data") or {}
        url_name = domain.url_name_for(ctx.contract, str(data.get("requestType")))
        if data.get("requestId") and url_name:
            ctx.remember(data["requestId"], url_name, None)


def _send_from(ctx: RunContext, jobs: list[tuple[Any, GenerationMode]], generators: Generators, k: int) -> None:
    """Send generator k's cases in the order drawn, each job judged by its own checks."""
    operations = {_key(op): op for op, _ in jobs}
    judge: Callable[[Any], None] | None = None
    for kind, job, payload in generators.take(k, operations):
        if kind == STARTED:
            op, mode = jobs[job]
            if label_of(op, mode) != payload:  # the generator's jobs are this run's jobs, in one order
                raise RuntimeError(f"fuzz generator {k} drew {payload!r} for job {job}, not {label_of(op, mode)!r}")
            judge = _judge(ctx, op, mode)
        elif kind == CASE and judge is not None:
            ctx.report.check_budget()
            judge(payload)


def _send_all(ctx: RunContext, jobs: list[tuple[Any, GenerationMode]], generators: Generators) -> None:
    """One thread per generator sends its cases (background.py: a signal halts the generators and
    lets the cases on the wire end); a limit reached or an error in one thread halts the others."""
    run_in_threads([lambda k=k: _send_from(ctx, jobs, generators, k) for k in range(generators.count)],
                   generators.stop, HALT_WAIT, "fuzz-sender")
    if generators.halted and not generators.parent_halted:  # a generator alone was sent SIGTERM
        ctx.report.stopped = ctx.report.stopped or "a fuzz worker was sent SIGTERM"
        raise StopRun(ctx.report.stopped)


def run_fuzz(ctx: RunContext) -> None:
    """Fuzz every operation in each mode: --workers N generator processes draw the (operation, mode)
    jobs in turn (generation.py; one may have started with the run) and this process sends and
    judges their cases."""
    jobs = _jobs(ctx)
    if not jobs:
        return
    generators = ctx.generators or fuzz_generators(ctx)
    try:
        generators.start(min(ctx.workers, len(jobs)))
        _send_all(ctx, jobs, generators)
    finally:
        generators.close()
