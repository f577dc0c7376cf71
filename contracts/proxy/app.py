"""The proxy put together: forwarding, the rules, the recorder, the control endpoint, and a clean stop.

    options = ProxyOptions(upstream="http://127.0.0.1:4010", port=4011, report="proxy.json")
    sys.exit(run(options))     # until SIGINT/SIGTERM; 0 no violation seen, 1 violations

Control endpoint (answered by the proxy itself, never forwarded):
`GET /__proxy/violations` -> the report so far (counts per rule, the most recent violations).
"""
from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from typing import Any, Sequence

from capillary_contract.loader import Contract, load_contract

from capillary_contract.requests import RequestChecks

from .conformance import Judgement, judge_exchange, judge_request
from .exchange import Exchange
from .legacy import LegacyTracker
from .forward import CONTROL_PREFIX, Answer, Forwarder, Upstream
from .recorder import Recorder, Violation
from .redaction import printable
from .tracking import DEFAULT_LIMIT, Tracker

EXIT_CONFORMANT, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2
UNCHECKED_TAGS = {"admin"}  # the mock's own control API is not Capillary's
VIOLATIONS_PATH = CONTROL_PREFIX + "violations"


@dataclass
class ProxyOptions:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 4011
    report: str | None = None
    junit_xml: str | None = None
    errors: bool = False
    track: int = DEFAULT_LIMIT
    spec: str | None = None


class Inspector:
    """Judges each exchange against the contract and the lifecycle, and records what it finds."""

    def __init__(self, contract: Contract, recorder: Recorder, track: int):
        self.contract = contract
        self.recorder = recorder
        self.tracker = Tracker(contract, track)
        self.legacy = LegacyTracker(track)
        self.request_checks = RequestChecks(contract, credentials=None)
        self.internal_errors = 0

    def __call__(self, exchange: Exchange) -> Sequence[Violation]:
        """Judge one exchange; a fault of the proxy's own never stops the traffic (it is counted and shown)."""
        try:
            return self._judge(exchange)
        except Exception as error:  # noqa: BLE001 - forwarding must go on whatever a check does
            self.internal_errors += 1
            print(f"contracts proxy: internal error judging {printable(exchange.label)}: "
                  f"{error.__class__.__name__}: {printable(str(error))[:300]}", file=sys.stderr, flush=True)
            return []

    def _judge(self, exchange: Exchange) -> Sequence[Violation]:
        found = self.contract.match(exchange.method, exchange.path)
        if found is None or UNCHECKED_TAGS & set(found[0].raw.get("tags", [])):
            self.recorder.count_unmatched()
            return []
        op, path_params = found
        judgement = Judgement()
        answer = judge_exchange(self.contract, op, path_params, exchange, judgement)
        judge_request(self.request_checks, op, path_params, exchange, answer, judgement)
        self.tracker.observe(exchange, answer, judgement)
        self.legacy.observe(op.operation_id, exchange, answer, self.tracker.caller(exchange), judgement)
        return self.recorder.record(exchange, judgement.checked, judgement.findings)

    def control(self, exchange: Exchange) -> Answer:
        if exchange.method in ("GET", "HEAD") and exchange.path == VIOLATIONS_PATH:
            return Answer.of_json(200, self.report())
        return Answer.of_json(404, {"proxy": "contracts proxy", "error": "not a control endpoint",
                                    "endpoints": [f"GET {VIOLATIONS_PATH}"]})

    def report(self) -> dict[str, Any]:
        return self.recorder.as_dict({"tracked": {"requests": len(self.tracker.requests),
                                                  "v1.1 requests": len(self.legacy.requests),
                                                  "limit": self.tracker.limit},
                                      "internalErrors": self.internal_errors})

    @staticmethod
    def replacement(exchange: Exchange, violations: Sequence[Violation]) -> Answer:
        """--errors: the answer a client gets instead of one that breaks the contract."""
        return Answer.of_json(502, {
            "proxy": "contracts proxy",
            "error": "the upstream's answer breaks the contract",
            "upstreamStatus": exchange.status,
            "violations": [{"rule": v.rule, "statement": v.statement, "message": v.message} for v in violations],
        })


async def serve(options: ProxyOptions, stop: asyncio.Event, ready: Any = None) -> Inspector:
    """Serve until `stop` is set; returns the inspector (its recorder holds the run's findings)."""
    contract = load_contract(options.spec)
    recorder = Recorder(options.upstream)
    inspector = Inspector(contract, recorder, options.track)
    forwarder = Forwarder(Upstream.from_url(options.upstream), inspector, inspector.control,
                          inspector.replacement if options.errors else None)
    port = await forwarder.start(options.host, options.port)
    print(f"contracts proxy: http://{options.host}:{port} -> {options.upstream} "
          f"(violations live at {VIOLATIONS_PATH}{'; --errors replaces violating answers' if options.errors else ''})",
          file=sys.stderr, flush=True)
    if ready is not None:
        ready(port, inspector)
    try:
        await stop.wait()
    finally:
        await forwarder.stop()
    return inspector


def run(options: ProxyOptions) -> int:
    """Serve until SIGINT/SIGTERM, then write the reports; 0 when no violation was seen, 1 otherwise."""
    try:
        Upstream.from_url(options.upstream)
    except ValueError as error:
        print(f"contracts proxy: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        load_contract(options.spec)  # a contract that cannot be read stops the proxy; it never passes all
    except Exception as error:  # noqa: BLE001 - any reason the spec cannot be loaded is the user's to fix
        print(f"contracts proxy: cannot load the contract {options.spec or ''}: {error.__class__.__name__}: "
              f"{printable(str(error))[:300]}", file=sys.stderr)
        return EXIT_UNUSABLE
    for path in (options.report, options.junit_xml):
        try:
            if path:
                open(path, "a").close()  # fail now, not after hours of traffic
        except OSError as error:
            print(f"contracts proxy: cannot write {path}: {error}", file=sys.stderr)
            return EXIT_UNUSABLE

    async def main() -> Inspector:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await serve(options, stop)

    try:
        inspector = asyncio.run(main())
    except OSError as error:
        print(f"contracts proxy: cannot listen on {options.host}:{options.port}: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    return finish(inspector, options)


def finish(inspector: Inspector, options: ProxyOptions) -> int:
    """Write the reports and the verdict; the exit code (0 no violation seen, 1 violations)."""
    recorder = inspector.recorder
    extra = inspector.report()
    if options.report:
        recorder.write_json(options.report, {"tracked": extra["tracked"], "internalErrors": extra["internalErrors"]})
    if options.junit_xml:
        recorder.write_junit(options.junit_xml)
    broken = [f"{r['rule']} ({r['violations']})" for r in extra["rules"] if r["violations"]]
    verdict = (f"{recorder.violations} VIOLATION(S): {', '.join(broken)}" if broken else "CONFORMANT")
    print(f"contracts proxy: {verdict}; {recorder.exchanges} exchanges ({recorder.unmatched} not operations "
          f"of the contract)", file=sys.stderr, flush=True)
    return EXIT_VIOLATIONS if recorder.violations else EXIT_CONFORMANT
