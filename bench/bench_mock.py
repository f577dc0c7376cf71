"""The mock's speed as users run it (`mockserver serve`, a SQLite file), beside Stoplight Prism.

Figures, all on 127.0.0.1: start-up time; create and approve throughput with p50/p99 under a load
generator (wrk -t2 -c16 when wrk is on PATH (`apt-get install -y wrk`), else a Python thread
generator with 16 connections); RSS after load. Prism (`prism mock -v error openapi.yaml`, npm-
installed into bench/.prism/) gets the same create request in the same run. Target: create
throughput >= 1.2x Prism's with p99 <= 20 ms, while the mock validates, authenticates and writes.

    .venv/bin/python bench/bench_mock.py [--duration 8] [--workers N --threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from capillary_contract.lifecycle import PENDING  # noqa: E402
from mock_support import BASE, ORG, auth, body_for, decision, free_port, start_served, stop_served  # noqa: E402
from mockserver.config import MockConfig  # noqa: E402
from mockserver.store import ListQuery, open_store  # noqa: E402

TYPE = "GOODWILL-POINTS"
PRISM_DIR = ROOT / "bench" / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
CONNECTIONS, THREADS = 16, 2


@dataclass
class Load:
    """What one load run measured."""

    generator: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers that were not 2xx, and socket errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- load generators -------------------------------------------------------------------
def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(method: str, path: str, headers: dict[str, str], body: str | None, ids_file: Path | None) -> str:
    lines = [f"wrk.method = {_lua_string(method)}", f"wrk.path = {_lua_string(path)}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    if ids_file is not None:  # each request decides the next pending id of this thread's share
        template = json.dumps(decision("@ID@", "approved", "bench"))
        lines += [
            "local ids = {}",
            f"for line in io.lines({_lua_string(str(ids_file))}) do ids[#ids + 1] = line end",
            "local count, counter = 0, 0",
            "function setup(thread) thread:set('tid', count); count = count + 1 end",
            "function request()",
            "  counter = counter + 1",
            f"  local i = ((counter - 1) * {THREADS} + tid) % #ids + 1",
            f"  local body = string.gsub({_lua_string(template)}, '@ID@', ids[i])",
            "  return wrk.format(nil, nil, nil, body)",
            "end",
        ]
    return "\n".join(lines) + "\n"


def _wrk_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_load(base_url: str, method: str, path: str, headers: dict[str, str], body: str | None,
             seconds: float, ids_file: Path | None = None) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(method, path, headers, body, ids_file))
    try:
        out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s",
                              "--latency", "-s", script.name, base_url], capture_output=True, text=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    duration = float(total.group(2)) * {"s": 1.0, "ms": 0.001, "m": 60.0}[total.group(3)]
    percentile = {p: _wrk_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Load("wrk -t2 -c16", int(total.group(1)), duration, percentile["50"], percentile["99"], errors)


def python_load(base_url: str, method: str, path: str, headers: dict[str, str], body: str | None,
                seconds: float, ids_file: Path | None = None) -> Load:
    """16 keep-alive connections from threads; slower than wrk, so it understates the server."""
    ids = ids_file.read_text().split() if ids_file else []
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run(worker: int) -> None:
        session, mine, n = requests.Session(), [], 0
        while time.perf_counter() < deadline:
            payload = body
            if ids:
                payload = json.dumps(decision(ids[(n * CONNECTIONS + worker) % len(ids)], "approved", "bench"))
                n += 1
            started = time.perf_counter()
            try:
                ok = session.request(method, base_url + path, data=payload, headers=headers, timeout=10).ok
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(i,)) for i in range(CONNECTIONS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
    return Load("python threads x16", len(latencies), elapsed, pick(0.5), pick(0.99), errors[0])


def load_generator() -> Callable[..., Load]:
    return wrk_load if shutil.which("wrk") else python_load


# -- processes -------------------------------------------------------------------------
def group_rss_mib(leader: int) -> float:
    """Resident memory of a process group (gunicorn arbiter and workers, or node)."""
    total_kib = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp == leader:
                status = (entry / "status").read_text()
                total_kib += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        except (OSError, AttributeError, IndexError, ValueError):
            continue
    return total_kib / 1024


def ensure_prism() -> str | None:
    """Prism's path, installing it into bench/.prism/ if npm is there; None (and why) otherwise."""
    if PRISM.exists():
        return None
    if not shutil.which("npm"):
        return "npm is not installed"
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                           "@stoplight/prism-cli"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not PRISM.exists():
        return f"npm install @stoplight/prism-cli failed: {done.stderr.strip()[-300:]}"
    return None


class Prism:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        log = (workdir / "prism.log").open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen([str(PRISM), "mock", "-v", "error", "-h", "127.0.0.1", "-p", str(self.port),
                                         str(ROOT / "openapi.yaml")], stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.base_url + "/__admin/health", timeout=1)
                break
            except requests.RequestException:
                if self.process.poll() is not None:
                    raise RuntimeError(f"prism exited: {(workdir / 'prism.log').read_text()[-500:]}")
                time.sleep(0.005)
        self.startup_s = time.perf_counter() - started

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


# -- the benchmark ---------------------------------------------------------------------
def mock_startup(workdir: Path, serve_args: list[str], runs: int = 3) -> float:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        served = start_served(workdir, *serve_args, db=f"startup-{i}.db", poll_s=0.005)
        times.append(time.perf_counter() - started)
        stop_served(served)
    return statistics.median(times)


def pending_ids(db: Path, limit: int) -> list[str]:
    """The oldest requests still waiting for a checker, read through the mock's own store."""
    store = open_store(MockConfig(db=str(db)))
    try:
        with store.read() as reader:
            data, _ = reader.list_requests(ListQuery(org_id=int(ORG), states=(PENDING,), sort_order="asc", limit=limit))
    finally:
        store.close()
    return [d["requestId"] for d in data]


def row(name: str, load: Load | None, rss: float | None, extra: str = "") -> str:
    if load is None:
        return f"  {name:<22} {'-':>9} {'-':>9} {'-':>9} {'-':>7} {'-':>9}  {extra}"
    return (f"  {name:<22} {load.rps:>9.0f} {load.p50_ms:>9.2f} {load.p99_ms:>9.2f} {load.errors:>7d} "
            f"{rss if rss is not None else float('nan'):>9.1f}  {extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per figure")
    parser.add_argument("--workers", type=int, help="mockserver serve --workers (default: its own)")
    parser.add_argument("--threads", type=int, help="mockserver serve --threads (default: its own)")
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args(argv)
    serve_args = [*(["--workers", str(args.workers)] if args.workers else []),
                  *(["--threads", str(args.threads)] if args.threads else [])]
    generate = load_generator()
    body = json.dumps(body_for(TYPE))
    create_path = f"{BASE}/{TYPE}"
    maker = {**auth("maker"), "Content-Type": "application/json"}
    checker = {**auth("checker"), "Content-Type": "application/json"}
    print(f"bench_mock: load generator {'wrk -t2 -c16' if generate is wrk_load else 'python threads x16 (no wrk on PATH)'}"
          f", {args.duration:g} s per figure, mockserver serve {' '.join(serve_args) or '(default workers/threads)'}")

    with tempfile.TemporaryDirectory(prefix="bench-mock-") as tmp:
        workdir = Path(tmp)
        startup = mock_startup(workdir, serve_args)
        served = start_served(workdir, *serve_args, db="state.db")
        try:
            generate(served.base_url, "POST", create_path, maker, body, 1.0)  # warm-up
            create = generate(served.base_url, "POST", create_path, maker, body, args.duration)
            ids = pending_ids(workdir / "state.db", 10**6)
            ids_file = workdir / "ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            approve = generate(served.base_url, "PUT", create_path, checker, None, args.duration / 2, ids_file)
            rss = group_rss_mib(served.process.pid)
        finally:
            stop_served(served)
        if approve.requests > len(ids):
            print(f"  note: approvals outran the {len(ids)} pending requests; the extra ones were 409s")

        prism_why = "skipped (--no-prism)" if args.no_prism else ensure_prism()
        prism_create = prism_rss = prism_startup = None
        if prism_why is None:
            prism = Prism(workdir)
            try:
                prism_startup = prism.startup_s
                generate(prism.base_url, "POST", create_path, maker, body, 1.0)
                prism_create = generate(prism.base_url, "POST", create_path, maker, body, args.duration)
                prism_rss = group_rss_mib(prism.process.pid)
            finally:
                prism.stop()

    print(f"  {'':<22} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} {'RSS MiB':>9}")
    print(row("mock create", create, rss))
    print(row("mock approve", approve, rss))
    print(row("prism create", prism_create, prism_rss, "" if prism_why is None else f"prism {prism_why}"))
    print(f"  start-up: mock {startup * 1000:.0f} ms (median of 3)"
          + (f", prism {prism_startup * 1000:.0f} ms" if prism_startup is not None else ""))
    if prism_create is not None and prism_create.rps:
        ratio = create.rps / prism_create.rps
        met = ratio >= 1.2 and create.p99_ms <= 20
        print(f"  target create >= 1.2x prism and p99 <= 20 ms: {ratio:.2f}x, p99 {create.p99_ms:.2f} ms -> "
              f"{'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
