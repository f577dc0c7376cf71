"""The served mock's memory over a long run: does it stay flat while the database grows?

`mockserver serve` (defaults, a SQLite file) gets 10 s of creates (wrk -t2 -c16, as bench_mock.py),
and the group's memory is taken (RSS summed over arbiter, workers and dispatcher, and PSS); then
creates until 100,000 have been made in all, then 10 s more, and the memory again. Goal (issue 18):
the second figure within 10 % of the first (journal and outbox bounded or on disk, never growing in
RAM). Prism, stateless, gets the same 10 s of creates in the same run for its memory beside.

    .venv/bin/python bench/bench_memory.py [--creates 100000] [--no-prism]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_mock import Load, Prism, Workload, ensure_prism, group_memory, load_generator  # noqa: E402
from lifetime import die_with_parent, end_with_signals  # noqa: E402
from mock_support import start_served, stop_served  # noqa: E402

GOAL_GROWTH = 0.10
LOAD_S = 10.0


def create_until(base_url: str, work: Workload, count: int, generate: Callable[..., Load]) -> int:
    """About `count` more creates, in runs of the load generator sized by the rate so far; how many
    were answered 2xx. (wrk stops by time only: a thread told to stop still waits out the duration.)"""
    made, rate = 0, 200.0
    while made < count:
        seconds = min(60.0, max(3.0, (count - made) / rate))
        load = generate(base_url, "POST", work.create_path, work.maker, work.body, seconds)
        made += load.requests - load.errors
        rate = max(load.rps, 1.0)
        if load.requests == 0:
            raise RuntimeError("the mock answered no create")
    return made


def main(argv: list[str] | None = None) -> int:
    end_with_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=100_000, help="creates made in all before the second figure")
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("bench_memory: needs wrk on PATH (apt-get install -y wrk)")
        return 1
    generate = load_generator()
    work = Workload.of_contract()
    print(f"bench_memory: {LOAD_S:g} s of creates, then creates up to {args.creates} in all, then {LOAD_S:g} s more "
          f"(wrk -t2 -c16); mockserver serve with its defaults; load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        served = start_served(Path(tmp), db="state.db", preexec_fn=die_with_parent)
        try:
            first_load = generate(served.base_url, "POST", work.create_path, work.maker, work.body, LOAD_S)
            first = group_memory(served.process.pid)
            started = time.monotonic()
            made = first_load.requests - first_load.errors
            made += create_until(served.base_url, work, max(0, args.creates - made), generate)
            filled_s = time.monotonic() - started
            second_load = generate(served.base_url, "POST", work.create_path, work.maker, work.body, LOAD_S)
            made += second_load.requests - second_load.errors
            second = group_memory(served.process.pid)
            db_mib = sum(f.stat().st_size for f in Path(tmp).glob("state.db*")) / 2**20
        finally:
            stop_served(served)
        prism_why = "skipped (--no-prism)" if args.no_prism else ensure_prism()
        prism_memory = None
        if prism_why is None:
            prism = Prism(Path(tmp))
            try:
                generate(prism.base_url, "POST", work.create_path, work.maker, work.body, LOAD_S)
                prism_memory = group_memory(prism.process.pid)
            finally:
                prism.stop()
    growth = second.rss_mib / first.rss_mib - 1
    print(f"  mock after {LOAD_S:g} s of load:                {first}")
    print(f"  mock after {made} creates (filled in {filled_s:.0f} s) and {LOAD_S:g} s more: {second}; "
          f"database {db_mib:.0f} MiB on disk")
    print(f"  prism after {LOAD_S:g} s of load:               " + (str(prism_memory) if prism_memory else f"prism {prism_why}"))
    print(f"  goal memory within {GOAL_GROWTH:.0%} after {args.creates} creates: RSS {growth:+.1%}"
          + (f", PSS {second.pss_mib / first.pss_mib - 1:+.1%}" if first.pss_mib and second.pss_mib else "")
          + f" -> {'met' if growth <= GOAL_GROWTH and made >= args.creates else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
