"""`contracts run`: a preflight, then probes, the lifecycle machine, schema fuzzing and webhook checks
against one target, then the console summary, JSON and JUnit outputs.

Exit codes (DESIGN.md section 3): 0 conformant, 1 violations, 2 a set-up that cannot test anything
(arguments, unreachable target, wrong base path, refused credentials, unwritable output, or a run that
tested nothing), 3 an internal error of the suite. A run stopped by --max-time reports what it found;
one stopped by SIGINT/SIGTERM writes its partial reports and exits 1 with violations, else 2.
"""
from __future__ import annotations

import importlib
import os
import random
import signal
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from capillary_contract.lifecycle import PENDING, REJECTED
from capillary_contract.loader import load_contract

from ..text import printable, printable_lines
from . import coverage, generation, html_report, webhooks
from .client import WorkflowClient
from .context import RunContext
from .findings import Finding
from .identities import AuthError, build_cast
from .preflight import Unusable, check_outputs, check_target
from .report import Report, StopRun
from .reproduction import BodyFiles
from .selection import Selection
from .transport import RateLimiter, TargetSession, is_loopback, parse_rate

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3
# Two generator processes by default: the fuzzer is CPU-bound (generation), and on 2 cores two gave the
# shortest default run against the mock (three were no faster); a machine with one CPU gets one.
DEFAULT_WORKERS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass
class RunOptions:
    base_url: str
    org: str | None = None
    maker_auth: str | None = None
    checker_auth: str | None = None
    supervisor_auth: str | None = None
    viewer_auth: str | None = None
    outsider_auth: str | None = None
    outsider_org: str | None = None
    max_examples: int = 10  # per fuzzed operation and mode: generation is most of a run's CPU
    seed: int | None = None
    junit_xml: str | None = None
    report: str | None = None
    allow_approve: bool = False
    rate_limit: str | None = None
    webhook_listen: int | None = None
    workers: int = DEFAULT_WORKERS
    webhook_wait: float = 10.0  # seconds to wait for the events the run caused
    phases: tuple[str, ...] = ("probes", "flows", "machine", "fuzz")
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_failures: int | None = None
    max_time: float | None = None
    extra_outputs: tuple[str, ...] = ()  # more paths to preflight (other parts' outputs, e.g. --html)
    integration_auth: str | None = None
    min_coverage: float | None = None  # percent, overall and per dimension (coverage.py)
    min_dimension_coverage: dict[str, float] = field(default_factory=dict)  # a dimension's own minimum
    html: str | None = None  # the coverage page (html_report.py)


# Each phase's module is imported when the phase starts: the preflight and the probes go out before
# Hypothesis and Schemathesis (about a second of imports) are loaded for the machine and the fuzzer.
PHASES: dict[str, str] = {
    "probes": "probes:run_probes", "flows": "flows:run_flows", "machine": "machine:run_machine",
    "fuzz": "fuzz:run_fuzz",
}


class Interrupted(BaseException):
    """SIGTERM, turned into an exception in the main thread like SIGINT's KeyboardInterrupt."""


def run(options: RunOptions, out: Any = None, stream: Any = None) -> int:
    """Run the suite; the exit code is the verdict. Nothing escapes as a traceback but an internal error."""
    try:
        return _run(options, out or sys.stdout, stream)
    except Unusable as exc:
        print(f"contracts run: {printable(str(exc))}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception:  # a bug of the suite itself, never a verdict on the target
        print("contracts run: internal error (a bug of the suite, not a finding about the target):\n"
              + printable_lines(traceback.format_exc()), file=sys.stderr)
        return EXIT_INTERNAL


def _options_problem(options: RunOptions) -> str | None:
    if options.max_examples < 1 or options.workers < 1:
        return "--max-examples and --workers must be at least 1"
    if options.max_failures is not None and options.max_failures < 1:
        return "--max-failures must be at least 1"
    if options.max_time is not None and options.max_time <= 0:
        return "--max-time must be more than 0 seconds"
    for name, value in {"": options.min_coverage, **options.min_dimension_coverage}.items():
        if value is not None and not 0 <= value <= 100:
            return f"--min-coverage {name + '=' if name else ''}{value}: a percentage from 0 to 100"
    unknown_dimensions = sorted(set(options.min_dimension_coverage) - set(coverage.DIMENSIONS))
    if unknown_dimensions:
        return f"--min-coverage: no dimension {unknown_dimensions}; known: {', '.join(coverage.DIMENSIONS)}"
    unknown = [p for p in options.phases if p not in PHASES]
    if unknown:
        return f"unknown phase(s) {unknown}; known: {', '.join(PHASES)}"
    return None


def _run(options: RunOptions, out: Any, stream: Any) -> int:
    started = time.monotonic()
    try:
        cast = build_cast(options.org, options.maker_auth, options.checker_auth, options.supervisor_auth,
                          options.viewer_auth, options.outsider_auth, options.outsider_org, options.integration_auth)
        rate = parse_rate(options.rate_limit)
    except (AuthError, ValueError) as exc:
        raise Unusable(str(exc)) from None
    problem = _options_problem(options)
    if problem:
        raise Unusable(problem)
    check_outputs([options.report, options.junit_xml, options.html, *options.extra_outputs])
    contract = load_contract()
    selection = Selection(list(options.include), list(options.exclude))
    if selection.unknown(contract):
        raise Unusable(f"--include/--exclude name nothing in the contract: {selection.unknown(contract)} "
                       "(a tag, an operationId, or METHOD /path)")
    base_url = options.base_url.rstrip("/")
    with requests.Session() as session:
        seen = check_target(base_url, contract, cast, session)
    loopback = is_loopback(base_url)
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    files = BodyFiles(_reproduction_folder(options))
    type_names = tuple(n for entry in contract.request_types.items() for n in
                       (entry[0], entry[1]["responseName"], entry[1]["eventName"]))
    report = Report(stream=stream, files=files, type_names=type_names)
    report.started = started
    report.max_failures = options.max_failures
    report.deadline = started + options.max_time if options.max_time else None
    report.properties.update({"baseUrl": base_url, "seed": str(seed), "maxExamples": str(options.max_examples)})
    ctx = RunContext(base_url=base_url, contract=contract, cast=cast, report=report,
                     limiter=RateLimiter(rate), may_approve=loopback or options.allow_approve, loopback=loopback,
                     max_examples=options.max_examples, seed=seed, workers=options.workers, selection=selection,
                     coverage=coverage.Coverage(contract, cast.known, events=options.webhook_listen is not None))
    report.line(f"preflight: {base_url} serves the workflow API ({'; '.join(seen)})")
    report.notes.append(f"seed: {seed} (repeat with --seed {seed})")
    report.notes.append(f"reproduction files (bodies a shell argument cannot carry): {files.directory}")
    if not cast.mock:
        report.notes.append("target: not the mock (identities given); nothing mock-only is sent")
    if not ctx.may_approve:
        report.notes.append("approvals: off (non-loopback target without --allow-approve); created requests are rejected")
    internal: list[str] = []
    receiver = None
    if options.webhook_listen is not None:
        try:
            receiver = webhooks.Receiver(options.webhook_listen).start()
        except OSError as exc:
            raise Unusable(f"--webhook-listen {options.webhook_listen}: {exc}") from None
        if not (ctx.is_mock and webhooks.register_with_mock(ctx, receiver)):
            report.notes.append(f"webhooks: configure the target to send its events to {receiver.url}")
    interrupted = False
    previous = _on_sigterm()
    try:
        try:
            if "fuzz" in options.phases[1:]:  # the phases before it mostly wait for the target: draw meanwhile
                ctx.generators = generation.fuzz_generators(ctx).start(1)
            for name in options.phases:
                _run_phase(ctx, name, _phase(name), internal)
            if receiver is not None:
                webhooks.verify(ctx, receiver, timeout=options.webhook_wait)
        except StopRun:
            pass
        except (KeyboardInterrupt, Interrupted) as exc:
            interrupted = True
            report.stopped = "interrupted by " + ("SIGINT" if isinstance(exc, KeyboardInterrupt) else "SIGTERM")
        if not ctx.may_approve:
            _reject_leftovers(ctx)
    except (KeyboardInterrupt, Interrupted):
        interrupted = True
        report.stopped = report.stopped or "interrupted during the clean-up"
    finally:
        if ctx.generators is not None:
            ctx.generators.close()
        _restore(previous)
        if receiver is not None:
            receiver.stop()
        report.end_progress()
    return _finish(options, ctx, internal, interrupted, out)


def _finish(options: RunOptions, ctx: RunContext, internal: list[str], interrupted: bool, out: Any) -> int:
    report = ctx.report
    covered = _coverage(options, ctx)
    tested = bool(report.passing_cases() or report.failing_cases())
    if internal:
        code, verdict = EXIT_INTERNAL, "INTERNAL ERROR (a bug of the suite; see above)"
    elif not report.conformant:
        code, verdict = EXIT_VIOLATIONS, f"{len(report.problems)} PROBLEM(S) ({report.occurrences} findings)"
    elif interrupted:
        code, verdict = EXIT_UNUSABLE, "INTERRUPTED before any violation was found (no verdict)"
    elif not tested or report.total_cases == 0:
        code, verdict = EXIT_UNUSABLE, "NOTHING TESTED (every phase was skipped or excluded)"
    else:
        code, verdict = EXIT_OK, "CONFORMANT"
    meta = {"baseUrl": ctx.base_url, "org": ctx.cast.org, "seed": ctx.seed, "maxExamples": ctx.max_examples,
            "workers": ctx.workers, "mayApprove": ctx.may_approve, "mock": ctx.is_mock,
            "identities": [who.name for who in ctx.cast.known], "verdict": verdict, "exitCode": code,
            "internalErrors": internal}
    from .console import summary
    from .junit import write_junit

    print(summary(report, verdict), file=out)
    print(coverage.table(covered), file=out)
    try:
        if options.html:
            html_report.write(options.html, covered, {**meta, "conformant": report.conformant})
        if options.report:
            report.write_json(options.report, meta)
        if options.junit_xml:
            write_junit(report, options.junit_xml)
    except OSError as exc:
        print(f"contracts run: cannot write the report: {printable(str(exc))}", file=sys.stderr)
        return EXIT_UNUSABLE
    return code


def _coverage(options: RunOptions, ctx: RunContext) -> dict[str, Any]:
    """The run's coverage into the report (JSON `coverage`, JUnit properties); below --min-coverage,
    one finding per dimension under it, naming what was not reached."""
    covered = ctx.coverage.as_dict()
    report = ctx.report
    report.extensions["coverage"] = covered
    report.properties["coverage"] = str(covered["percent"])
    for name, dim in covered["dimensions"].items():
        report.properties[f"coverage.{name}"] = str(dim["percent"])
    if options.min_coverage is not None or options.min_dimension_coverage:
        rule = "coverage is at least the --min-coverage asked for"
        for gap in coverage.gaps(covered, options.min_coverage, options.min_dimension_coverage):
            report.add(Finding(coverage.PHASE, "min_coverage", rule, gap.partition(":")[0], gap))
        for name in ("overall", *covered["dimensions"]):
            report.passed(coverage.PHASE, "min_coverage", name)
    return covered


def _reproduction_folder(options: RunOptions) -> str:
    """Beside the JSON report (or the JUnit file); a fresh temporary folder when neither is written."""
    for path in (options.report, options.junit_xml):
        if path:
            return os.path.join(os.path.dirname(os.path.abspath(path)), "reproductions")
    return tempfile.mkdtemp(prefix="contracts-run-")


def _on_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def raise_interrupted(signum: int, frame: Any) -> None:
        raise Interrupted()

    return signal.signal(signal.SIGTERM, raise_interrupted)


def _restore(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _phase(name: str) -> Callable[[RunContext], None]:
    module, _, function = PHASES[name].partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def _run_phase(ctx: RunContext, name: str, func: Callable[[RunContext], None], internal: list[str]) -> None:
    started = time.monotonic()
    ctx.report.line(f"phase {name}: started")
    try:
        func(ctx)
    except Exception as exc:  # a crash of the suite is an internal error (exit 3), not a verdict on the target
        text = f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()}"
        internal.append(f"{name}: {printable_lines(text)}")
        print(f"contracts run: internal error in phase {name}:\n{printable_lines(text)}", file=sys.stderr)
    finally:
        stats = ctx.report.phase(name)
        stats.seconds = time.monotonic() - started
        ctx.report.line(f"phase {name}: {stats.cases} cases in {stats.seconds:.1f}s")


def _reject_leftovers(ctx: RunContext) -> None:
    """On a shared target, reject every request the run created that still waits."""
    # its own session, without the budget: the clean-up runs even after a limit stopped the run
    client = WorkflowClient(ctx.base_url, TargetSession(ctx.limiter, mock=ctx.is_mock), ctx.contract)
    for request_id, url_name in list(ctx.created.items()):
        response = client.get(request_id, ctx.cast.checker)
        data = (response.json() if response.status_code == 200 else {}).get("data") or {}
        if data.get("state") == PENDING:
            client.decide(url_name, request_id, REJECTED, ctx.cast.checker, "clean-up by the contract suite")
