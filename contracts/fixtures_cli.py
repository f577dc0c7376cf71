"""The `fixtures` subcommand: `contracts fixtures [--out DIR] [--seed N]`.

`add_parser` lets `contracts/cli.py` register it next to the other subcommands; `main` runs
it on its own (`python -m contracts.fixtures_cli`).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Sequence

from contracts.fixtures import DEFAULT_OUT, DEFAULT_SEED


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fixtures", help="write deterministic fixtures generated from openapi.yaml",
        description="Write request, lifecycle, event and v1.1 fixtures generated from openapi.yaml. "
                    "The same seed gives byte-identical files.")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generation seed (default: %(default)s)")
    parser.set_defaults(func=run, handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Generate; 0 on success, 2 when the arguments cannot be used, 1 when generation fails."""
    from contracts.fixtures import generate

    if args.seed < 0:
        print("contracts fixtures: --seed must be 0 or more", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        files = generate(args.out, args.seed)
    except OSError as exc:
        print(f"contracts fixtures: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"contracts fixtures: {exc}", file=sys.stderr)
        return 1
    kinds = Counter(entry["kind"] for entry in files)
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"wrote {len(files)} fixtures to {args.out} (seed {args.seed}; {summary}) "
          f"in {time.perf_counter() - started:.2f}s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="contracts")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fixtures", *(argv if argv is not None else sys.argv[1:])])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
