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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_mock import Prism, Workload, _lua_string, ensure_prism, group_memory, load_generator  # noqa: E402
from lifetime import die_with_parent, end_with_signals  # noqa: E402
from mock_support import start_served, stop_served  # noqa: E402

GOAL_GROWTH = 0.10
LOAD_S = 10.0


def create_until(base_url: str, work: Workload, count: int, timeout_s: float) -> int:
    """`count` creates with wrk -t2 -c16 (each thread stops at its share); how many answered 2xx."""
    share = -(-count // 2)
    lines = ["wrk.method = 'POST'", f"wrk.path = {_lua_string(work.create_path)}",
             *(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in work.maker.items()),
             f"wrk.body = {_lua_string(work.body)}",
             "local done, ok = 0, 0",
             "function response(status, headers, body)",
             "  done = done + 1",
             "  if status >= 200 and status < 300 then ok = ok + 1 end",
             f"  if done >= {share} then wrk.thread:stop() end",
             "end",
             "function done_count() return ok end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{int(timeout_s)}s", "-s", script.name, base_url],
                             capture_output=True, text=True, timeout=timeout_s + 60).stdout
    finally:
        os.unlink(script.name)
    errors = 0
    for line in out.splitlines():
        if "Non-2xx" in line:
            errors += int(line.rsplit(":", 1)[1])
    total = next((int(line.split()[0]) for line in out.splitlines() if "requests in" in line), 0)
    return total - errors


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
            made += create_until(served.base_url, work, max(0, args.creates - made), timeout_s=3600)
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
