"""The `run` subcommand: `contracts run --base-url URL ...`, its flags and their checks."""
from __future__ import annotations

import argparse
import sys

from .runner import EXIT_UNUSABLE, PHASES, RunOptions, run

AUTH = "basic:user:password or token:JWT"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    r = subparsers.add_parser("run", help="check a deployment (or the mock) against openapi.yaml",
                              description="Exit 0 conformant, 1 violations, 2 unusable set-up (arguments, "
                                          "unreachable target, wrong base path, refused credentials, unwritable "
                                          "output, nothing tested), 3 internal error.")
    r.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:4010 (the part before /api_gateway/)")
    r.add_argument("--org", help="organisation id (default 51250, the mock's)")
    who = r.add_argument_group("identities (with none given, the mock's default users fill every role)")
    who.add_argument("--maker-auth", help=f"{AUTH}: a user with CanMakeRequest")
    who.add_argument("--checker-auth", help=f"{AUTH}: a user with CanCheckRequest")
    who.add_argument("--supervisor-auth", help=f"{AUTH}: a user with both permissions (the four-eyes checks)")
    who.add_argument("--viewer-auth", help=f"{AUTH}: a user with no permission (the permission checks)")
    who.add_argument("--outsider-auth", help=f"{AUTH}: a user of another organisation (the isolation checks)")
    who.add_argument("--outsider-org", help="the outsider's organisation id (needed with --outsider-auth)")
    who.add_argument("--integration-auth", help=f"{AUTH}: a trusted integration (its requests are decided at once)")
    r.add_argument("--max-examples", type=int, default=RunOptions.max_examples,
                   help=f"generated cases per operation and mode (default {RunOptions.max_examples})")
    r.add_argument("--seed", type=int, help="repeat a run (printed at the end of every run)")
    r.add_argument("--junit-xml", metavar="PATH")
    r.add_argument("--report", metavar="PATH", help="JSON report")
    r.add_argument("--allow-approve", action="store_true",
                   help="approve on a non-loopback target too (approvals run real side effects)")
    r.add_argument("--rate-limit", metavar="N/s", help="at most N requests a second (also N/m, N/h)")
    r.add_argument("--webhook-listen", type=int, metavar="PORT",
                   help="receive the target's webhook events on 127.0.0.1:PORT and check them")
    r.add_argument("--workers", type=int, default=RunOptions.workers,
                   help="forked processes drawing the fuzzer's cases in parallel, which this process sends "
                        "and judges (default 2, or 1 on a machine with one CPU: "
                        f"{RunOptions.workers} here)")
    r.add_argument("--phases", default=",".join(PHASES), help="comma list of " + ", ".join(PHASES))
    r.add_argument("--html", metavar="PATH", help="the run's coverage as a self-contained HTML page")
    r.add_argument("--min-coverage", action="append", default=[], metavar="[DIMENSION=]PCT",
                   help="exit 1 when coverage, overall or of any dimension, is below PCT percent; "
                        "DIMENSION=PCT (statuses, errors, transitions, events) sets one dimension's own (repeatable)")
    r.add_argument("--include", action="append", default=[], metavar="SEL",
                   help="test only these: a tag (workflow, legacy), an operationId or 'METHOD /path' (repeatable)")
    r.add_argument("--exclude", action="append", default=[], metavar="SEL",
                   help="do not test these (same forms as --include; e.g. --exclude legacy)")
    r.add_argument("--max-failures", type=int, metavar="N", help="stop after N distinct findings")
    r.add_argument("--max-time", type=float, metavar="SECONDS", help="stop after this long, reporting what was found")
    r.set_defaults(handler=handle)
    return r


def _minimums(values: list[str]) -> tuple[float | None, dict[str, float]]:
    """`--min-coverage 80 --min-coverage transitions=100` -> (80.0, {"transitions": 100.0})."""
    overall, per_dimension = None, {}
    for value in values:
        name, sep, number = value.rpartition("=")
        try:
            pct = float(number)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--min-coverage: expected PCT or DIMENSION=PCT, got {value!r}") from None
        if sep:
            per_dimension[name.strip()] = pct
        else:
            overall = pct
    return overall, per_dimension


def handle(args: argparse.Namespace) -> int:
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    try:
        overall, per_dimension = _minimums(args.min_coverage)
    except argparse.ArgumentTypeError as exc:
        print(f"contracts run: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return run(RunOptions(
        base_url=args.base_url, org=args.org, maker_auth=args.maker_auth, checker_auth=args.checker_auth,
        supervisor_auth=args.supervisor_auth, viewer_auth=args.viewer_auth, outsider_auth=args.outsider_auth,
        outsider_org=args.outsider_org, max_examples=args.max_examples, seed=args.seed, junit_xml=args.junit_xml,
        report=args.report, allow_approve=args.allow_approve, rate_limit=args.rate_limit,
        webhook_listen=args.webhook_listen, workers=args.workers, phases=phases,
        include=[s for v in args.include for s in v.split(",") if s],
        exclude=[s for v in args.exclude for s in v.split(",") if s],
        max_failures=args.max_failures, max_time=args.max_time, integration_auth=args.integration_auth,
        min_coverage=overall, min_dimension_coverage=per_dimension, html=args.html))
