"""The `contracts` command: `contracts run` (conformance of a deployment), `contracts proxy` (conformance of
the traffic it forwards) and `contracts fixtures`."""
from __future__ import annotations

import argparse
import sys

from capillary_contract.loader import select_spec

from .fixtures import command as fixtures_command
from .proxy import command as proxy_command
from .run import command as run_command
from .run.runner import EXIT_UNUSABLE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # unusable arguments exit 2 (argparse's own code, said explicitly)
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_UNUSABLE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="contracts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_command.add_parser(sub)
    fixtures_command.add_parser(sub)
    proxy_command.add_parser(sub)
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
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
