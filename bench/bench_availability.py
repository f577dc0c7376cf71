"""Availability under hostile clients: create latency while slow and long-polling clients hold connections.

`mockserver serve` (defaults) gets 20 sockets that send a partial request head and never finish it
(each reopened as soon as the mock hangs up on it) and 8 `GET /__admin/events?waitFor=…&timeout=15`
long-polls (each sent again when it ends). Meanwhile one client sends ordinary creates, one after
another, and the latency of each is taken; the same creates are first timed with no attackers.
Prism (`prism mock`, as in bench_mock.py) gets the same slow sockets and creates in the same run.
Goal (issue 11): create p99 under 100 ms with the attackers on.

    .venv/bin/python bench/bench_availability.py [--creates 400] [--mockserver PATH] [--no-prism]
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_mock import Prism, ensure_prism  # noqa: E402
from lifetime import die_with_parent, end_with_signals  # noqa: E402
from mock_support import BASE, auth, body_for, start_served, stop_served  # noqa: E402
import mock_support  # noqa: E402

SLOW_SOCKETS, LONG_POLLS = 20, 8
GOAL_P99_MS = 100.0
TYPE = "GOODWILL-POINTS"


@dataclass
class Latency:
    count: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class Attack:
    """Slow-header sockets and long-polls kept open against `base_url` until stopped."""

    def __init__(self, base_url: str, slow: int, polls: int):
        self.host, self.port = base_url.split("//")[1].split(":")
        self.base_url, self.slow, self.polls = base_url, slow, polls
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.reopened = 0

    def __enter__(self) -> "Attack":
        for _ in range(self.slow):
            self.threads.append(threading.Thread(target=self._slow_socket, daemon=True))
        for _ in range(self.polls):
            self.threads.append(threading.Thread(target=self._long_poll, daemon=True))
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # let every attacker get its connection in
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=20)

    def _slow_socket(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection((self.host, int(self.port)), timeout=2) as sock:
                    sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n")
                    sock.settimeout(0.5)
                    while not self.stop.is_set():  # hold it until the server hangs up
                        try:
                            if not sock.recv(4096):
                                break
                        except socket.timeout:
                            continue
            except OSError:
                time.sleep(0.1)
            self.reopened += 1

    def _long_poll(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                try:
                    session.get(f"{self.base_url}/__admin/events", params={"waitFor": "never-written", "timeout": 10},
                                timeout=15)
                except requests.RequestException:
                    time.sleep(0.1)


def time_creates(base_url: str, count: int) -> Latency:
    body = json.dumps(body_for(TYPE))
    headers = {**auth("maker"), "Content-Type": "application/json"}
    taken, errors = [], 0
    with requests.Session() as session:
        for _ in range(count):
            started = time.perf_counter()
            try:
                ok = session.post(f"{base_url}{BASE}/{TYPE}", data=body, headers=headers, timeout=60).ok
            except requests.RequestException:
                ok = False
            taken.append((time.perf_counter() - started) * 1000)
            errors += not ok
    taken.sort()
    return Latency(len(taken), errors, statistics.median(taken), taken[min(len(taken) - 1, int(0.99 * len(taken)))],
                   taken[-1])


def row(name: str, figures: Latency | None, note: str = "") -> str:
    if figures is None:
        return f"  {name:<34} {'-':>7} {'-':>9} {'-':>9} {'-':>9} {'-':>7}  {note}"
    return (f"  {name:<34} {figures.count:>7d} {figures.p50_ms:>9.2f} {figures.p99_ms:>9.2f} {figures.max_ms:>9.2f} "
            f"{figures.errors:>7d}  {note}")


def main(argv: list[str] | None = None) -> int:
    end_with_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=400, help="creates timed in each phase")
    parser.add_argument("--mockserver", help="another mockserver executable (e.g. an older checkout's) to measure")
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args(argv)
    if args.mockserver:
        mock_support.mockserver_command = lambda: [args.mockserver]
    print(f"bench_availability: {args.creates} sequential creates per phase; attack = {SLOW_SOCKETS} slow-header "
          f"sockets + {LONG_POLLS} long-polls (waitFor, timeout 15 s); mockserver serve with its defaults")
    results: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-availability-") as tmp:
        served = start_served(Path(tmp), db="state.db", preexec_fn=die_with_parent)
        try:
            time_creates(served.base_url, 20)  # warm-up
            calm = time_creates(served.base_url, args.creates)
            with Attack(served.base_url, SLOW_SOCKETS, LONG_POLLS) as attack:
                attacked = time_creates(served.base_url, args.creates)
            reopened = attack.reopened
        finally:
            stop_served(served)
        results += [row("mock create, no attack", calm),
                    row("mock create, under attack", attacked, f"slow sockets reopened {reopened}x")]

        prism_why = "skipped (--no-prism)" if args.no_prism else ensure_prism()
        if prism_why is None:
            prism = Prism(Path(tmp))
            try:
                time_creates(prism.base_url, 20)
                prism_calm = time_creates(prism.base_url, args.creates)
                with Attack(prism.base_url, SLOW_SOCKETS, 0):
                    prism_attacked = time_creates(prism.base_url, args.creates)
            finally:
                prism.stop()
            results += [row("prism create, no attack", prism_calm),
                        row("prism create, slow sockets only", prism_attacked, "(prism has no long-poll)")]
        else:
            results.append(row("prism", None, f"prism {prism_why}"))

    print(f"  {'':<34} {'creates':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'errors':>7}")
    print("\n".join(results))
    met = attacked.p99_ms < GOAL_P99_MS and attacked.errors == 0
    print(f"  goal create p99 < {GOAL_P99_MS:g} ms under attack, no errors: p99 {attacked.p99_ms:.2f} ms, "
          f"{attacked.errors} errors -> {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
