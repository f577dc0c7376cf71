"""The `contracts` command: `contracts run` (conformance) and, when installed, `contracts fixtures`."""
from __future__ import annotations

import argparse
import sys

from capillary_contract.loader import select_spec

from .runner import EXIT_UNUSABLE, RunOptions, run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # unusable arguments exit 2 (argparse's own code, said explicitly)
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_UNUSABLE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="contracts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="check a deployment (or the mock) against openapi.yaml")
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
    r.add_argument("--phases", default="probes,machine,fuzz", help="comma list of probes, machine, fuzz")
    try:
        from . import fixtures_cli  # written by the fixtures work; absent until then
    except ImportError:
        pass
    else:
        fixtures_cli.add_parser(sub)
    for command in sub.choices.values():  # every command reads the contract
        command.add_argument("--spec", metavar="PATH", help="the contract to check against / generate from "
                             "(default: $CAPILLARY_OPENAPI, else the kit's own openapi.yaml)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.spec:
        try:
            select_spec(args.spec)
        except ValueError as exc:
            print(f"contracts {args.command}: --spec: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
    if args.command == "run":
        phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
        unknown = [p for p in phases if p not in ("probes", "machine", "fuzz")]
        if unknown:
            print(f"contracts run: unknown phase(s) {unknown}", file=sys.stderr)
            return EXIT_UNUSABLE
        return run(RunOptions(
            base_url=args.base_url, org=args.org, maker_auth=args.maker_auth, checker_auth=args.checker_auth,
            max_examples=args.max_examples, seed=args.seed, junit_xml=args.junit_xml, report=args.report,
            allow_approve=args.allow_approve, rate_limit=args.rate_limit, webhook_listen=args.webhook_listen,
            workers=args.workers, phases=phases))
    handler = getattr(args, "func", None) or getattr(args, "handler", None)
    if handler is None:
        build_parser().print_help()
        return EXIT_UNUSABLE
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
