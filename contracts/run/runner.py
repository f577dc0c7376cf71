"""`contracts run`: probes, the lifecycle machine, schema fuzzing and webhook checks against one
target, then the summary, JSON and JUnit outputs. Exit 0 conformant, 1 violations, 2 unusable.
"""
from __future__ import annotations

import importlib
import random
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from capillary_contract.lifecycle import PENDING, REJECTED
from capillary_contract.loader import load_contract

from . import webhooks
from .context import RunContext
from .identities import AuthError, build_cast
from .report import Finding, Report
from .transport import RateLimiter, is_loopback, parse_rate, reachable

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class RunOptions:
    base_url: str
    org: str | None = None
    maker_auth: str | None = None
    checker_auth: str | None = None
    max_examples: int = 25
    seed: int | None = None
    junit_xml: str | None = None
    report: str | None = None
    allow_approve: bool = False
    rate_limit: str | None = None
    webhook_listen: int | None = None
    workers: int = 1
    webhook_wait: float = 10.0  # seconds to wait for the events the run caused
    phases: tuple[str, ...] = ("probes", "machine", "fuzz")


# Each phase's module is imported when the phase starts: the probes go out before Hypothesis and
# Schemathesis (about a second of imports) are loaded for the machine and the fuzzer.
PHASES: dict[str, str] = {
    "probes": "probes:run_probes", "machine": "machine:run_machine", "fuzz": "fuzz:run_fuzz",
}


def _unusable(message: str) -> int:
    print(f"contracts run: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def run(options: RunOptions, out: Any = None) -> int:
    out = out or sys.stdout
    try:
        cast = build_cast(options.org, options.maker_auth, options.checker_auth)
        rate = parse_rate(options.rate_limit)
    except (AuthError, ValueError) as exc:
        return _unusable(str(exc))
    if options.max_examples < 1 or options.workers < 1:
        return _unusable("--max-examples and --workers must be at least 1")
    problem = reachable(options.base_url)
    if problem:
        return _unusable(problem)
    loopback = is_loopback(options.base_url)
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    report = Report()
    ctx = RunContext(base_url=options.base_url.rstrip("/"), contract=load_contract(), cast=cast, report=report,
                     limiter=RateLimiter(rate), may_approve=loopback or options.allow_approve, loopback=loopback,
                     max_examples=options.max_examples, seed=seed, workers=options.workers)
    report.notes.append(f"seed: {seed} (repeat with --seed {seed})")
    if not ctx.may_approve:
        report.notes.append("approvals: off (non-loopback target without --allow-approve); created requests are rejected")
    receiver = None
    if options.webhook_listen is not None:
        try:
            receiver = webhooks.Receiver(options.webhook_listen).start()
        except OSError as exc:
            return _unusable(f"--webhook-listen {options.webhook_listen}: {exc}")
        if not webhooks.register_with_mock(ctx, receiver):
            report.notes.append(f"webhooks: target is not the mock; configure it to send events to {receiver.url}")
    try:
        for name in options.phases:
            _run_phase(ctx, name, _phase(name))
        if not ctx.may_approve:
            _reject_leftovers(ctx)
        if receiver is not None:
            webhooks.verify(ctx, receiver, timeout=options.webhook_wait)
    finally:
        if receiver is not None:
            receiver.stop()
        report.end_progress()
    meta = {"baseUrl": ctx.base_url, "org": cast.org, "seed": seed, "maxExamples": ctx.max_examples,
            "workers": ctx.workers, "mayApprove": ctx.may_approve}
    print(report.summary(), file=out)
    if options.report:
        report.write_json(options.report, meta)
    if options.junit_xml:
        report.write_junit(options.junit_xml)
    return EXIT_VIOLATIONS if report.findings else EXIT_OK


def _phase(name: str) -> Callable[[RunContext], None]:
    module, _, function = PHASES[name].partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def _run_phase(ctx: RunContext, name: str, func: Callable[[RunContext], None]) -> None:
    started = time.monotonic()
    try:
        func(ctx)
    except Exception as exc:  # a crash of the suite is reported, not hidden
        ctx.report.add(Finding(name, "suite_error", "the phase runs to the end", name,
                               f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()}"))
        ctx.report.phase(name).seconds += time.monotonic() - started


def _reject_leftovers(ctx: RunContext) -> None:
    """On a shared target, reject every request the run created that still waits."""
    client = ctx.client()
    for request_id, url_name in list(ctx.created.items()):
        response = client.get(request_id, ctx.cast.checker)
        data = (response.json() if response.status_code == 200 else {}).get("data") or {}
        if data.get("state") == PENDING:
            client.decide(url_name, request_id, REJECTED, ctx.cast.checker, "clean-up by the contract suite")
