"""Schema-driven fuzzing on Schemathesis's engine: every workflow and legacy operation, in
positive and negative mode, each answer judged by Schemathesis's checks plus our domain checks.

The suite adds only what Schemathesis cannot know: who sends each operation (maker or
checker), the organisation header fixed to the run's org (so a valid case is valid for this
caller), and the safety rule (no approvals against a shared target unless allowed).
"""
from __future__ import annotations

import threading
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
from .context import RunContext
from .coverage import Coverage
from .findings import Finding
from .identities import Identity
from .pipeline import Pipeline
from .report import Report, StopRun
from .reproduction import exchange_of
from .spec import fuzzed_operations, is_create, is_decide, operation_id
from .transport import DEFAULT_TIMEOUT

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


def _fuzz_one(ctx: RunContext, op: Any, mode: GenerationMode, sender: Pipeline, halt: Any) -> None:
    op_id = operation_id(op)
    who = _identity(ctx, op_id)
    fixed = {ORG_HEADER: who.org} if any(p.name == ORG_HEADER for p in op.headers) else None
    sent_headers = {**who.headers, **(fixed or {})}
    code_check = domain.make_documented_code_check(lambda case: sent_headers)
    checks = _checks_for(op_id, mode, code_check, is_create(ctx.contract, op_id))
    strategy = op.as_strategy(generation_mode=mode, headers=fixed)
    label = label_of(op, mode)
    for check in checks:
        ctx.report.passed(PHASE, check.__name__, label)

    @settings(max_examples=ctx.max_examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def run(case: Any) -> None:
        ctx.report.check_budget()
        if halt.is_set():
            raise StopRun("halted")
        _make_safe(ctx, op_id, case)
        _drop_transport_headers(case)
        sender.submit(lambda: send_and_judge(case))

    def send_and_judge(case: Any) -> None:  # in the sender's thread, while the next case is drawn
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

    if ctx.seed is not None:
        run = seed(ctx.seed)(run)
    with with_reporter(lambda *_: None):  # Hypothesis's own notes (seeds, falsifying examples) would garble the output
        run()


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


def _fuzz_all(ctx: RunContext, jobs: list[tuple[Any, GenerationMode]], halt: Any) -> None:
    """Fuzz the operations in turn, each case sent one behind the generation of the next; `halt` set
    (a signal reached the run) ends it at the next case."""
    sender = Pipeline()
    finished = False
    try:
        for op, mode in jobs:
            _fuzz_one(ctx, op, mode, sender, halt)
        finished = True
    finally:  # stopped early (a limit, a signal): only the case on the wire ends
        sender.close(finish=finished, timeout=None if finished else STOP_WAIT)


# How long a stopped fuzzer may take to hand back what it found: the case on the wire (one request's
# time-out) and the case being drawn.
STOP_WAIT = DEFAULT_TIMEOUT + 5.0


def _in_background(work: Callable[[], None], halt: threading.Event) -> None:
    """Run `work` in a thread and wait for it. A signal (SIGINT, SIGTERM) then lands in this wait and
    never inside Hypothesis's engine, which would turn an exception raised in its own code into a
    FlakyStrategyDefinition; the work is halted at its next case, and the signal goes on up."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # raised again in the waiting thread
            outcome.append(exc)

    thread = threading.Thread(target=target, name="fuzz", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:
        halt.set()
        thread.join(STOP_WAIT)
        raise
    if outcome:
        raise outcome[0]


# -- forked workers ------------------------------------------------------------------------------
# What forked workers inherit: the run's context, its operations by label, the halt event, and a fresh
# Coverage that each worker fills with its own exchanges across its jobs (and hands over after each).
_FORKED: tuple[RunContext, dict[str, tuple[Any, GenerationMode]], Any, Coverage | None] | None = None


def _worker_start() -> None:
    """Forked workers leave SIGINT to the parent, which halts them and takes what they found. A SIGTERM
    that reaches a worker too (sent to the whole process group, as a CI job's time-out does) halts every
    worker the same way, so each hands back what its job found; the worker ends within STOP_WAIT anyway."""
    import signal

    assert _FORKED is not None
    halt = _FORKED[2]

    def halted(signum: int, frame: Any) -> None:
        halt.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        signal.alarm(int(STOP_WAIT) + 1)  # SIGALRM's default action ends the process

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, halted)


def _worker(key: str) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    """In a forked process: fuzz one operation in one mode and hand back its report, the ids it created
    and its coverage counts (its own sessions count into the worker's own Coverage)."""
    import dataclasses

    assert _FORKED is not None
    parent, ops, halt, counted = _FORKED
    report = Report(stream=parent.report.stream, live=False, files=parent.report.files,
                    type_names=parent.report.type_names)
    report.lines, report.quiet = parent.report.lines, parent.report.quiet
    report.max_failures, report.deadline = parent.report.max_failures, parent.report.deadline
    report.started = parent.report.started
    ctx = dataclasses.replace(parent, report=report, created={}, trajectories={}, sent={}, coverage=counted,
                              _local=threading.local())
    try:
        if not halt.is_set():
            _fuzz_all(ctx, [ops[key]], halt)
    except StopRun:
        pass
    return report.handover(), ctx.created, counted.take_counts() if counted is not None else []


def _take(ctx: RunContext, handed: tuple[dict[str, Any], dict[str, str], list[Any]]) -> None:
    report, created, counts = handed
    ctx.report.merge(report, PHASE)
    if ctx.coverage is not None:
        ctx.coverage.merge(counts)
    for request_id, url_name in created.items():
        ctx.remember(request_id, url_name, None)


def _fuzz_forked(ctx: RunContext, jobs: list[tuple[Any, GenerationMode]]) -> None:
    """N forked processes take the jobs one at a time; each job's findings join the run's report as it
    ends, so a run stopped by a limit or a signal still reports every job that finished and, halted at
    their next case, the ones under way."""
    global _FORKED
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    forking = multiprocessing.get_context("fork")
    halt = forking.Event()
    counted = Coverage(ctx.contract, ctx.cast.known) if ctx.coverage is not None else None
    _FORKED = (ctx, {label_of(op, mode): (op, mode) for op, mode in jobs}, halt, counted)
    pool = ProcessPoolExecutor(ctx.workers, mp_context=forking, initializer=_worker_start)
    try:
        pending = {pool.submit(_worker, key) for key in _FORKED[1]}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    _take(ctx, future.result())
                ctx.report.check_budget()
            if halt.is_set():  # a worker alone was sent SIGTERM: the jobs after it did not run
                ctx.report.stopped = ctx.report.stopped or "a fuzz worker was sent SIGTERM"
                raise StopRun(ctx.report.stopped)
        except BaseException:  # a signal, the budget, a worker that died: take what the others found
            halt.set()
            for future in pending:
                future.cancel()  # the jobs not started yet
            done, _ = wait(pending, timeout=STOP_WAIT)
            for future in done:
                if not future.cancelled() and future.exception() is None:
                    _take(ctx, future.result())
            raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        _FORKED = None


def run_fuzz(ctx: RunContext) -> None:
    """Fuzz every operation in each mode: in one process, or with --workers N in N forked processes
    that take the (operation, mode) jobs in turn (Hypothesis is not thread-safe enough to share one
    process)."""
    jobs = _jobs(ctx)
    if ctx.workers <= 1 or len(jobs) < 2:
        halt = threading.Event()
        _in_background(lambda: _fuzz_all(ctx, jobs, halt), halt)
    else:
        _fuzz_forked(ctx, jobs)
