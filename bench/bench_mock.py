"""The mock's speed and footprint as users run it (`mockserver serve`, a SQLite file), beside Stoplight Prism.

Figures, all on 127.0.0.1: start-up to the first 200; create, approve and list throughput with
p50/p99 under a load generator (wrk -t2 -c16 when wrk is on PATH (`apt-get install -y wrk`), else a
Python thread generator with 16 connections); the memory of the whole process group after the
create load (RSS summed, and PSS, which counts a page shared by several processes once); the bytes
each server's processes wrote to storage per create (/proc/PID/io). Prism
(`prism mock -v error openapi.yaml`, npm-installed into bench/.prism/) gets the same requests in
the same run, and so do two floors (floor_server.py: the smallest Flask app on the mock's own front
and worker count, answering from memory, then writing each create to SQLite), which show how much
of the create figure Flask and one SQLite write take on this machine. Goals (issue 18): create >= 1.5x Prism with p99 <= 20 ms and no non-2xx, while the
mock validates, authenticates and writes; memory <= 160 MiB RSS; start-up <= 300 ms.

    .venv/bin/python bench/bench_mock.py [--duration 10] [--workers N --threads N] [--before MOCKSERVER]
                                         [--state-dir DIR]

`--before PATH` also measures another `mockserver` executable (an older checkout's) in the same run.
`--state-dir /dev/shm` keeps the databases in memory: the figures of the mock when storage is not the limit.
"""
from __future__ import annotations

import argparse
import contextlib
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from capillary_contract.lifecycle import PENDING  # noqa: E402
import mock_support  # noqa: E402
from mock_support import ORG, auth, body_for, decision, free_port, start_served, stop_served, wait_healthy  # noqa: E402
from mockserver.config import MockConfig  # noqa: E402
from mockserver.store import ListQuery, open_store  # noqa: E402
from lifetime import die_with_parent, end_with_signals  # noqa: E402

TYPE = "GOODWILL-POINTS"
PRISM_DIR = ROOT / "bench" / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"  # pinned: the Prism test and the figures name one version
CONNECTIONS, THREADS = 16, 2
GOAL_RATIO, GOAL_P99_MS, GOAL_RSS_MIB, GOAL_STARTUP_MS = 1.5, 20.0, 160.0, 300.0
STARTUP_RUNS = 7  # start-ups here range over 2x from one to the next (330-660 ms): a median of 3 moved by ~100 ms


@dataclass
class Load:
    """What one load run measured."""

    generator: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers that were not 2xx, and socket errors
    written_kib: float | None = None  # bytes the server's processes wrote to storage per request (`disk_writes`)

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
    percentile = {p: _wrk_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M)}
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
@dataclass
class Memory:
    """A process group's memory: RSS summed over its processes, and PSS (shared pages split)."""

    rss_mib: float
    pss_mib: float | None  # None where /proc/PID/smaps_rollup is missing (not Linux >= 4.14)
    processes: int

    def __str__(self) -> str:
        pss = f", PSS {self.pss_mib:.1f}" if self.pss_mib is not None else ""
        return f"RSS {self.rss_mib:.1f} MiB{pss} ({self.processes} processes)"


def _group_entries(leader: int) -> Iterator[Path]:
    """The /proc entries of the processes in the group that `leader` leads."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == leader:
                yield entry
        except (OSError, IndexError, ValueError):
            continue


def group_memory(leader: int) -> Memory:
    """The memory of a process group (gunicorn arbiter, workers and dispatcher, or node)."""
    rss_kib, pss_kib, count, pss_known = 0, 0, 0, True
    for entry in _group_entries(leader):
        try:
            rss_kib += int(re.search(r"VmRSS:\s+(\d+)", (entry / "status").read_text()).group(1))
            count += 1
            try:
                pss_kib += int(re.search(r"^Pss:\s+(\d+)", (entry / "smaps_rollup").read_text(), re.M).group(1))
            except (OSError, AttributeError):
                pss_known = False
        except (OSError, AttributeError, IndexError, ValueError):
            continue
    return Memory(rss_kib / 1024, pss_kib / 1024 if pss_known else None, count)


def group_written_bytes(leader: int) -> int | None:
    """Bytes the processes of a group have sent to storage so far (`write_bytes` of /proc/PID/io,
    counted when a clean page of a file becomes dirty: a WAL frame, a database page a checkpoint
    copies, a log line); None where /proc/PID/io cannot be read."""
    total = None
    for entry in _group_entries(leader):
        try:
            written = int(re.search(r"^write_bytes:\s+(\d+)", (entry / "io").read_text(), re.M).group(1))
        except (OSError, AttributeError):
            continue
        total = (total or 0) + written
    return total


def disk_writes(leader: int, load: Callable[[], Load]) -> Load:
    """`load()`, with the storage bytes its server group wrote per request: on a disk, the create tail
    waits on storage (each fsync of a checkpoint stalls the WAL writes beside it), and this is how much
    of it each create causes."""
    before = group_written_bytes(leader)
    figures = load()
    after = group_written_bytes(leader)
    if before is not None and after is not None and figures.requests:
        figures.written_kib = (after - before) / 1024 / figures.requests
    return figures


def group_rss_mib(leader: int) -> float:
    """Resident memory of a process group, summed (see `group_memory`)."""
    return group_memory(leader).rss_mib


def ensure_prism() -> str | None:
    """Prism's path, installing it into bench/.prism/ if npm is there; None (and why) otherwise."""
    if PRISM.exists():
        return None
    if not shutil.which("npm"):
        return "npm is not installed"
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                           PRISM_PACKAGE], capture_output=True, text=True, timeout=600)
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
                                        start_new_session=True, preexec_fn=die_with_parent)
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
def mock_startup(workdir: Path, serve_args: list[str], runs: int = STARTUP_RUNS) -> float:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        served = start_served(workdir, *serve_args, db=f"startup-{i}.db", poll_s=0.005, preexec_fn=die_with_parent)
        times.append(time.perf_counter() - started)
        stop_served(served)
    return statistics.median(times)


@contextlib.contextmanager
def serving(command: Callable[[int], list[str]], workdir: Path, name: str, env: dict[str, str] | None = None,
            poll_s: float = 0.05) -> Iterator[tuple[str, subprocess.Popen]]:
    """`command(port)` started in a session of its own on a free port (its output in workdir/NAME-PORT.log):
    its base URL and process once it answers /__admin/health; the whole group stopped afterwards."""
    port = free_port()
    log = workdir / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command(port), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=die_with_parent)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, process, log, poll_s=poll_s)
        yield base_url, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def bare_flask_startup(workdir: Path, runs: int = STARTUP_RUNS) -> float:
    """Start-up to the first 200 of bench/bare_flask_app.py under gunicorn with two sync workers."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with serving(lambda port: [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                                   "--chdir", str(ROOT / "bench"), "bare_flask_app:app"],
                     workdir, "bare-flask", poll_s=0.005):
            times.append(time.perf_counter() - started)
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


@dataclass
class Workload:
    """The requests every server gets: create, approve (a decision per pending id) and list."""

    create_path: str
    list_path: str
    body: str
    maker: dict[str, str]
    checker: dict[str, str]

    @classmethod
    def of_contract(cls) -> "Workload":
        from capillary_contract.loader import load_contract
        contract = load_contract()
        return cls(contract.create_path(TYPE), contract.path_of("listRequests") + "?limit=10",
                   json.dumps(body_for(TYPE)), {**auth("maker"), "Content-Type": "application/json"},
                   {**auth("checker"), "Content-Type": "application/json"})


@dataclass
class Figures:
    """One server's figures in this run."""

    startup_s: float | None = None
    bare_flask_startup_s: float | None = None  # the floor: bench/bare_flask_app.py under gunicorn
    floors: dict[str, Load] = field(default_factory=dict)  # create floors (floor_server.py), by what they do
    create: Load | None = None
    approve: Load | None = None
    listing: Load | None = None
    memory: Memory | None = None
    notes: list[str] = field(default_factory=list)


def measure_mock(workdir: Path, serve_args: list[str], work: Workload, generate: Callable[..., Load],
                 seconds: float, state_dir: Path) -> Figures:
    figures = Figures(startup_s=mock_startup(workdir, serve_args), bare_flask_startup_s=bare_flask_startup(workdir))
    db = state_dir / "state.db"
    served = start_served(workdir, *serve_args, db=str(db), preexec_fn=die_with_parent)
    try:
        generate(served.base_url, "POST", work.create_path, work.maker, work.body, 1.0)  # warm-up
        figures.create = disk_writes(served.process.pid, lambda: generate(
            served.base_url, "POST", work.create_path, work.maker, work.body, seconds))
        figures.memory = group_memory(served.process.pid)  # after (1 +) `seconds` of load
        ids = pending_ids(db, 10**6)
        ids_file = workdir / "ids.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        figures.approve = generate(served.base_url, "PUT", work.create_path, work.checker, None, seconds / 2, ids_file)
        if figures.approve.requests > len(ids):
            figures.notes.append(f"approvals outran the {len(ids)} pending requests; the extra ones were 409s")
        figures.listing = generate(served.base_url, "GET", work.list_path, work.checker, None, seconds / 2)
    finally:
        stop_served(served)
    return figures


FLOOR_SERVER = ROOT / "bench" / "floor_server.py"
FLOORS = {"Flask only": False, "Flask + SQLite": True}  # floor name -> writes each create to a SQLite file


def measure_floors(workdir: Path, workers: int, work: Workload, generate: Callable[..., Load],
                   seconds: float, state_dir: Path) -> dict[str, Load]:
    """Create throughput of floor_server.py with the mock's worker count, from memory and with SQLite."""
    floors = {}
    for name, writes in FLOORS.items():
        db = {"BARE_FLASK_DB": str(state_dir / f"floor-{len(floors)}.db")} if writes else {}
        with serving(lambda port: [sys.executable, str(FLOOR_SERVER), str(port), str(workers)], workdir, "floor",
                     env={**os.environ, **db}) as (base_url, process):
            generate(base_url, "POST", work.create_path, work.maker, work.body, 1.0)  # warm-up, as for the mock
            floors[name] = disk_writes(process.pid, lambda: generate(
                base_url, "POST", work.create_path, work.maker, work.body, seconds))
    return floors


def measure_prism(workdir: Path, work: Workload, generate: Callable[..., Load], seconds: float) -> Figures:
    prism = Prism(workdir)
    try:
        figures = Figures(startup_s=prism.startup_s)
        generate(prism.base_url, "POST", work.create_path, work.maker, work.body, 1.0)
        figures.create = disk_writes(prism.process.pid, lambda: generate(
            prism.base_url, "POST", work.create_path, work.maker, work.body, seconds))
        figures.memory = group_memory(prism.process.pid)
        decided = json.dumps(decision("00000000-0000-0000-0000-000000000000", "approved", "bench"))
        figures.approve = generate(prism.base_url, "PUT", work.create_path, work.checker, decided, seconds / 2)
        figures.listing = generate(prism.base_url, "GET", work.list_path, work.checker, None, seconds / 2)
    finally:
        prism.stop()
    return figures


def row(name: str, load: Load | None, rss: float | None, extra: str = "") -> str:
    """A figure line with an RSS column (bench_postgres.py)."""
    if load is None:
        return f"  {name:<22} {'-':>9} {'-':>9} {'-':>9} {'-':>7} {'-':>9}  {extra}"
    return (f"  {name:<22} {load.rps:>9.0f} {load.p50_ms:>9.2f} {load.p99_ms:>9.2f} {load.errors:>7d} "
            f"{rss if rss is not None else float('nan'):>9.1f}  {extra}")


def load_row(name: str, load: Load | None, extra: str = "") -> str:
    if load is None:
        return f"  {name:<16} {'-':>9} {'-':>9} {'-':>9} {'-':>7} {'-':>9}  {extra}"
    written = f"{load.written_kib:>9.1f}" if load.written_kib is not None else f"{'-':>9}"
    return (f"  {name:<16} {load.rps:>9.0f} {load.p50_ms:>9.2f} {load.p99_ms:>9.2f} {load.errors:>7d} {written}"
            f"  {extra}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(mock: Figures, prism: Figures | None, prism_why: str | None, before: Figures | None = None) -> None:
    print(f"  {'':<16} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>7} {'disk KiB':>9}  (disk: KiB the"
          " server wrote to storage per request, create load only)")
    for name, attr in (("create", "create"), ("approve", "approve"), ("list", "listing")):
        print(load_row(f"mock {name}", getattr(mock, attr)))
        if before is not None:
            print(load_row(f"before {name}", getattr(before, attr)))
        print(load_row(f"prism {name}", getattr(prism, attr) if prism else None, "" if prism else f"prism {prism_why}"))
        if attr == "create":
            for floor, load in mock.floors.items():
                print(load_row(f"floor {'SQLite' if FLOORS[floor] else 'Flask'}", load,
                               f"floor_server.py: {floor}, the mock's front and workers"))
    print(f"  memory after the create load: mock {mock.memory}" + (f"; before {before.memory}" if before else "")
          + (f"; prism {prism.memory}" if prism else ""))
    print(f"  start-up to the first answer: mock {mock.startup_s * 1000:.0f} ms (median of {STARTUP_RUNS})"
          + (f", before {before.startup_s * 1000:.0f} ms" if before else "")
          + f", a bare Flask app under gunicorn {mock.bare_flask_startup_s * 1000:.0f} ms (the floor of a Flask mock)"
          + (f", prism {prism.startup_s * 1000:.0f} ms" if prism else ""))
    for note in mock.notes:
        print(f"  note: {note}")
    create = mock.create
    if prism and prism.create and prism.create.rps:
        ratio = create.rps / prism.create.rps
        print(f"  goal create >= {GOAL_RATIO:g}x prism, p99 <= {GOAL_P99_MS:g} ms, no non-2xx: {ratio:.2f}x, "
              f"p99 {create.p99_ms:.2f} ms, {create.errors} non-2xx -> "
              f"{verdict(ratio >= GOAL_RATIO and create.p99_ms <= GOAL_P99_MS and create.errors == 0)}")
        for floor, load in mock.floors.items():
            print(f"  floor {floor}: {load.rps / prism.create.rps:.2f}x prism, p99 {load.p99_ms:.2f} ms; "
                  f"the mock's create runs at {create.rps / load.rps:.0%} of it")
    print(f"  goal memory <= {GOAL_RSS_MIB:g} MiB RSS summed: {mock.memory.rss_mib:.1f} MiB -> "
          f"{verdict(mock.memory.rss_mib <= GOAL_RSS_MIB)}")
    print(f"  goal start-up <= {GOAL_STARTUP_MS:g} ms: {mock.startup_s * 1000:.0f} ms -> "
          f"{verdict(mock.startup_s * 1000 <= GOAL_STARTUP_MS)}")


def main(argv: list[str] | None = None) -> int:
    end_with_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of create load (approve, list: half)")
    parser.add_argument("--workers", type=int, help="mockserver serve --workers (default: its own)")
    parser.add_argument("--threads", type=int, help="mockserver serve --threads (default: its own)")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--before", metavar="MOCKSERVER", help="also measure this mockserver executable")
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="where the mocks and the SQLite floor keep "
                        "their databases (default: the run's temporary folder); /dev/shm shows them with no disk")
    args = parser.parse_args(argv)
    serve_args = [*(["--workers", str(args.workers)] if args.workers else []),
                  *(["--threads", str(args.threads)] if args.threads else [])]
    generate = load_generator()
    work = Workload.of_contract()
    print(f"bench_mock: load generator {'wrk -t2 -c16' if generate is wrk_load else 'python threads x16 (no wrk on PATH)'}"
          f", {args.duration:g} s of creates (approve, list: {args.duration / 2:g} s), mockserver serve "
          f"{' '.join(serve_args) or '(default workers/threads)'}, databases in "
          f"{args.state_dir or 'the temporary folder'}; load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as tmp, \
            tempfile.TemporaryDirectory(prefix="bench-mock-state-", dir=args.state_dir) as state:
        workdir, state_dir = Path(tmp), Path(state)
        mock = measure_mock(workdir, serve_args, work, generate, args.duration, state_dir)
        from mockserver.cli import build_parser
        workers = args.workers or build_parser().parse_args(["serve"]).workers
        mock.floors = measure_floors(workdir, workers, work, generate, args.duration, state_dir)
        before = None
        if args.before:
            ours, mock_support.mockserver_command = mock_support.mockserver_command, lambda: [args.before]
            try:
                (workdir / "before").mkdir()
                (state_dir / "before").mkdir()
                before = measure_mock(workdir / "before", serve_args, work, generate, args.duration, state_dir / "before")
            finally:
                mock_support.mockserver_command = ours
        prism_why = "skipped (--no-prism)" if args.no_prism else ensure_prism()
        prism = measure_prism(workdir, work, generate, args.duration) if prism_why is None else None
    report(mock, prism, prism_why, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
