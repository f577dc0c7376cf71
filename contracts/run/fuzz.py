"""Schema-driven fuzzing on Schemathesis's engine: every workflow and legacy operation, in
positive and negative mode, each answer judged by Schemathesis's checks plus our domain checks.

The suite adds only what Schemathesis cannot know: who sends each operation (maker or
checker), the organisation header fixed to the run's org (so a valid case is valid for this
caller), and the safety rule (no approvals against a shared target unless allowed).
"""
from __future__ import annotations

import time
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import *  # noqa: F401,F403  (registers the failure types)
from schemathesis.specs.openapi import checks as st_checks
from schemathesis.checks import not_a_server_error

from capillary_contract.http import ORG_HEADER, TRANSPORT_HEADERS
from capillary_contract.lifecycle import APPROVED, REJECTED

from . import checks as domain
from .context import RunContext
from .identities import Identity
from .report import Finding
from capillary_contract.strategies import openapi_schema

from .spec import fuzzed_operations, operation_id
from .transport import exchange_of

PHASE = "fuzz"
BASE_CHECKS = [not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
               st_checks.response_schema_conformance, domain.documented_error_catalogue, domain.request_type_casing]
# Operations whose valid input must be accepted whatever the target holds.
STATELESS_VALID = ("createRequest:", "listRequests", "getRequest", "getLegacyRequests", "getLegacyRequestLogs")
BATCH_AWARE_REJECTION = domain.make_batch_rejection_check(st_checks.negative_data_rejection)
CHECKER_OPS = ("decideRequest", "approveLegacyRequests", "rejectLegacyRequests")


def _identity(ctx: RunContext, op_id: str) -> Identity:
    return ctx.cast.checker if op_id in CHECKER_OPS else ctx.cast.maker


def _jobs(ctx: RunContext) -> list[tuple[Any, GenerationMode]]:
    jobs = []
    for op in fuzzed_operations(openapi_schema(ctx.contract)):
        op_id = operation_id(op)
        legacy = op.path.startswith("/v1.1/")
        if legacy and "Authorization" not in _identity(ctx, op_id).headers:
            ctx.report.skip(PHASE, f"{op_id}: v1.1 takes Basic auth only")
            continue
        if op_id == "approveLegacyRequests" and not ctx.may_approve:
            ctx.report.skip(PHASE, f"{op_id}: approvals need --allow-approve on a non-loopback target")
            continue
        modes = [GenerationMode.NEGATIVE] if op_id == "createRequest" else [GenerationMode.POSITIVE,
                                                                             GenerationMode.NEGATIVE]
        jobs += [(op, mode) for mode in modes]
    return jobs


def _checks_for(op_id: str, mode: GenerationMode, code_check: Any) -> list[Any]:
    out = list(BASE_CHECKS)
    if mode.is_negative:
        out += [BATCH_AWARE_REJECTION, code_check]
    elif op_id.startswith(STATELESS_VALID):
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
    if op_id == "decideRequest" and not ctx.may_approve and isinstance(case.body, dict):
        payload = case.body.get("payload")
        inner = payload.get("AdminTask-Payload") if isinstance(payload, dict) else None
        if isinstance(inner, dict) and inner.get("actionDecision") == APPROVED:
            inner["actionDecision"] = REJECTED


def _fuzz_one(ctx: RunContext, op: Any, mode: GenerationMode) -> None:
    op_id = operation_id(op)
    who = _identity(ctx, op_id)
    fixed = {ORG_HEADER: who.org} if any(p.name == ORG_HEADER for p in op.headers) else None
    sent_headers = {**who.headers, **(fixed or {})}
    code_check = domain.make_documented_code_check(lambda case: sent_headers)
    checks = _checks_for(op_id, mode, code_check)
    strategy = op.as_strategy(generation_mode=mode, headers=fixed)
    label = f"{op.method.upper()} {op.path} [{mode.value}]"

    @settings(max_examples=ctx.max_examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def run(case: Any) -> None:
        _make_safe(ctx, op_id, case)
        _drop_transport_headers(case)
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
            for failure in group.exceptions:
                _add_failure(ctx, label, failure, response)
        except Failure as failure:
            _add_failure(ctx, label, failure, response)

    if ctx.seed is not None:
        run = seed(ctx.seed)(run)
    run()


def _add_failure(ctx: RunContext, label: str, failure: Failure, response: Any) -> None:
    check = (type(failure).checks or ("",))[0] or _custom_name(failure.title)
    ctx.report.add(Finding(PHASE, check, failure.title, label, failure.message or "", exchange_of(response)))


def _custom_name(title: str) -> str:
    # "Custom check failed: `name`" -> name
    return title.split("`")[1] if "`" in title else title


def _remember_created(ctx: RunContext, op_id: str, response: Any) -> None:
    if op_id.startswith("createRequest") and response.status_code == 200:
        data = (domain.json_or_none(response) or {}).get("data") or {}
        url_name = domain.url_name_for(ctx.contract, str(data.get("requestType")))
        if data.get("requestId") and url_name:
            ctx.remember(data["requestId"], url_name, None)


_FORKED: RunContext | None = None  # the run's context, inherited by forked workers


def _worker(jobs: list[tuple[str, str]]) -> tuple[list[Finding], int, dict[str, str], list[str]]:
    """In a forked process: fuzz some operations, hand back findings, case count and created ids."""
    import dataclasses

    from .report import Report

    parent = _FORKED
    assert parent is not None
    ctx = dataclasses.replace(parent, report=Report(live=False), created={}, trajectories={})
    ops = {(op.label, mode.value): (op, mode) for op, mode in _jobs(ctx)}
    for key in jobs:
        _fuzz_one(ctx, *ops[key])
    return ctx.report.findings, ctx.report.total_cases, ctx.created, ctx.report.phase(PHASE).skipped


def run_fuzz(ctx: RunContext) -> None:
    """Fuzz every operation; with --workers N, N forked processes share the operations
    (Hypothesis is not thread-safe enough to share one process)."""
    global _FORKED
    started = time.monotonic()
    jobs = _jobs(ctx)
    if ctx.workers <= 1 or len(jobs) < 2:
        for op, mode in jobs:
            _fuzz_one(ctx, op, mode)
    else:
        import multiprocessing

        keys = [(op.label, mode.value) for op, mode in jobs]
        shares = [keys[i::ctx.workers] for i in range(ctx.workers)]
        _FORKED = ctx
        try:
            with multiprocessing.get_context("fork").Pool(ctx.workers) as pool:
                for findings, cases, created, _ in pool.imap_unordered(_worker, [s for s in shares if s]):
                    for finding in findings:
                        ctx.report.add(finding)
                    ctx.report.count(PHASE, cases)
                    for request_id, url_name in created.items():
                        ctx.remember(request_id, url_name, None)
        finally:
            _FORKED = None
    ctx.report.phase(PHASE).seconds += time.monotonic() - started
