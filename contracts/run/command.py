"""The `run` subcommand: `contracts run --base-url URL ...`, its flags and their checks."""
from __future__ import annotations

import argparse
import sys

from .runner import EXIT_UNUSABLE, PHASES, RunOptions, run


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    r = subparsers.add_parser("run", help="check a deployment (or the mock) against openapi.yaml")
    r.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:4010")
    r.add_argument("--org", help="organisation id (default 51250, the mock's)")
    r.add_argument("--maker-auth", help="basic:user:password or token:JWT (default: the mock's maker)")
    r.add_argument("--checker-auth", help="basic:user:password or token:JWT (default: the mock's checker)")
    r.add_argument("--max-examples", type=int, default=25, help="generated cases per operation and mode (default 25)")
    r.add_argument("--seed", type=int, help="repeat a run (printed at the end of every run)")
    r.add_argument("--junit-xml", metavar="PATH")
    r.add_argument("--report", metavar="PATH", help="JSON report")
    r.add_argument("--allow-approve", action="store_true",
                   help="approve on a non-loopback target too (approvals run real side effects)")
    r.add_argument("--rate-limit", metavar="N/s", help="at most N requests a second (also N/m, N/h)")
    r.add_argument("--webhook-listen", type=int, metavar="PORT",
                   help="receive the target's webhook events on 127.0.0.1:PORT and check them")
    r.add_argument("--workers", type=int, default=1, help="operations fuzzed in parallel (default 1)")
    r.add_argument("--phases", default=",".join(PHASES), help="comma list of probes, machine, fuzz")
    r.set_defaults(handler=handle)
    return r


def handle(args: argparse.Namespace) -> int:
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        print(f"contracts run: unknown phase(s) {unknown}", file=sys.stderr)
        return EXIT_UNUSABLE
    return run(RunOptions(
        base_url=args.base_url, org=args.org, maker_auth=args.maker_auth, checker_auth=args.checker_auth,
        max_examples=args.max_examples, seed=args.seed, junit_xml=args.junit_xml, report=args.report,
        allow_approve=args.allow_approve, rate_limit=args.rate_limit, webhook_listen=args.webhook_listen,
        workers=args.workers, phases=phases))
