"""Create and approve throughput of the mock on SQLite, on one PostgreSQL replica, and on two
PostgreSQL replicas behind nginx (docs/replicas/nginx.conf), in one run, with one load generator.

Each target is `mockserver serve` with its default workers. PostgreSQL is a throwaway cluster of
Debian's binaries run as an unprivileged user (tests/postgres_cluster.py) with its defaults but
`synchronous_commit = off`, the counterpart of the SQLite store's `synchronous = NORMAL`: a commit
survives a crash of the mock, not of the machine. All on 127.0.0.1, sharing the same 2 cores, so a
second replica adds processes, not CPUs: the figure shows what replication costs, not what it
would gain on more machines.

    .venv/bin/python bench/bench_postgres.py [--duration 6]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_mock import TYPE, Load, group_rss_mib, load_generator, pending_ids, row  # noqa: E402
from lifetime import die_with_parent, end_with_signals  # noqa: E402
from mock_support import BASE, auth, body_for, start_served, stop_served  # noqa: E402
from postgres_cluster import postgres_cluster  # noqa: E402
from replica_support import balancer, replicas  # noqa: E402

BENCH_SETTINGS = {"synchronous_commit": "off", "max_connections": "200"}


@dataclass
class Figures:
    name: str
    create: Load
    approve: Load
    rss_mib: float


def measure(name: str, base_url: str, db: str, groups: Callable[[], list[int]], seconds: float) -> Figures:
    """Warm up, then create for `seconds`, then approve what was created for half as long."""
    generate = load_generator()
    path = f"{BASE}/{TYPE}"
    body = json.dumps(body_for(TYPE))
    maker = {**auth("maker"), "Content-Type": "application/json"}
    checker = {**auth("checker"), "Content-Type": "application/json"}
    generate(base_url, "POST", path, maker, body, 1.0)
    create = generate(base_url, "POST", path, maker, body, seconds)
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as ids_file:
        ids_file.write("\n".join(pending_ids(db, 10**6)) + "\n")
    approve = generate(base_url, "PUT", path, checker, None, seconds / 2, Path(ids_file.name))
    Path(ids_file.name).unlink()
    return Figures(name, create, approve, sum(group_rss_mib(leader) for leader in groups()))


@contextlib.contextmanager
def served(workdir: Path, db: str) -> Iterator[list]:
    member = start_served(workdir, db=db, preexec_fn=die_with_parent)
    try:
        yield [member]
    finally:
        stop_served(member)


def main(argv: list[str] | None = None) -> int:
    end_with_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of create load per figure")
    args = parser.parse_args(argv)
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as tmp, postgres_cluster(BENCH_SETTINGS) as cluster:
        workdir = Path(tmp)
        print(f"bench_postgres: {args.duration:g} s of creates then {args.duration / 2:g} s of approvals per target;"
              f" PostgreSQL {cluster.sql('SHOW server_version')} with "
              + ", ".join(f"{k}={v}" for k, v in BENCH_SETTINGS.items()), flush=True)
        sqlite_db = str(workdir / "state.db")
        with served(workdir, sqlite_db) as members:
            results.append(measure("sqlite", members[0].base_url, sqlite_db,
                                   lambda: [m.process.pid for m in members], args.duration))
        one = cluster.create_database("bench_one")
        with served(workdir, one) as members:
            results.append(measure("pg 1 replica", members[0].base_url, one,
                                   lambda: [cluster.process.pid, *(m.process.pid for m in members)], args.duration))
        two = cluster.create_database("bench_two")
        with replicas(workdir, two, 2) as group, balancer(group.ports) as front:
            results.append(measure("pg 2 + nginx", front.base_url, two,
                                   lambda: [cluster.process.pid, *(m.process.pid for m in group.members)],
                                   args.duration))
    print(f"  {'':<22} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} {'RSS MiB':>9}")
    for figures in results:
        print(row(f"{figures.name} create", figures.create, figures.rss_mib))
        print(row(f"{figures.name} approve", figures.approve, figures.rss_mib))
    base = results[0]
    for figures in results[1:]:
        print(f"  {figures.name}: create {figures.create.rps / base.create.rps:.2f}x, approve "
              f"{figures.approve.rps / base.approve.rps:.2f}x of SQLite's")
    print("  pg: PostgreSQL; 2 + nginx: two replicas behind docs/replicas/nginx.conf. RSS: the mock's processes (and PostgreSQL's, for its targets); approvals beyond the pending"
          " requests answer 409 and count as errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
