"""The `proxy` subcommand: `contracts proxy --upstream URL [--host H] [--port P] [--report PATH]
[--junit-xml PATH] [--errors] [--track N] [--spec PATH]`; `add_parser` registers it in `contracts/cli.py`
(which adds `--spec` to every command and selects that contract before `_run`)."""
from __future__ import annotations

import argparse
import sys

from .tracking import DEFAULT_LIMIT

# The proxy's server (h11, asyncio, its checks) is imported when the command runs, not when any
# `contracts` command starts: `contracts run` sends its first request sooner.


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "proxy", help="forward traffic to a deployment unchanged and check it against the contract",
        description="Forward every request to --upstream unchanged and check each exchange against openapi.yaml "
                    "and the request lifecycle. Violations are printed as they happen and listed at "
                    "GET /__proxy/violations; the reports are written on SIGINT/SIGTERM. "
                    "Exit 0 when no violation was seen, 1 when one was, 2 for unusable arguments.")
    parser.add_argument("--upstream", required=True, help="the deployment, e.g. https://staging.example.com")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=4011, help="port to listen on (default: %(default)s; 0: any)")
    parser.add_argument("--report", metavar="PATH", help="JSON report, written when stopped")
    parser.add_argument("--junit-xml", metavar="PATH", help="JUnit XML (one testcase per rule), written when stopped")
    parser.add_argument("--errors", action="store_true",
                        help="replace an answer that breaks the contract by a 502 naming the violation")
    parser.add_argument("--track", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help="requests followed across calls, most recently seen first (default: %(default)s)")
    parser.set_defaults(handler=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    from .app import EXIT_UNUSABLE, ProxyOptions, run

    if args.track < 1 or not 0 <= args.port <= 65535:
        print("contracts proxy: --track must be 1 or more and --port 0 to 65535", file=sys.stderr)
        return EXIT_UNUSABLE
    return run(ProxyOptions(upstream=args.upstream, host=args.host, port=args.port, report=args.report,
                            junit_xml=args.junit_xml, errors=args.errors, track=args.track))
