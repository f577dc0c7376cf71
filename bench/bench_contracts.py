"""Cases per second of `contracts run` (fuzz phase) against a live mock, side by side with
`st run openapi.yaml --url ...` on the same target, same examples and workers (and the ratio; issue 18
asks >= 1.5x); the wall time of a default `contracts run` (issue 18 asks ~15 s or less); and the time from
starting `contracts run` to its first request reaching the target (issue 12 asks < 1 s). Prints figures;
asserts nothing.

    .venv/bin/python bench/bench_contracts.py [--max-examples 25] [--workers 1,4] [--rounds 2]

One run of each moves by about 10 % from one to the next here, so each tool runs `--rounds` times,
the two alternating, and the ratio is the median of the rounds'.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from capillary_contract.http import ORG_HEADER, basic_authorization, free_port
from capillary_contract.users import DEFAULT_USERS
from lifetime import die_with_parent, end_with_signals  # bench/ is on sys.path: the script's own folder

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAKER = ["-H", f"Authorization: {basic_authorization('maker', DEFAULT_USERS['maker'].password)}",
         "-H", f"{ORG_HEADER}: {DEFAULT_USERS['maker'].org}"]


def start_mock(workdir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "mockserver"), "serve", "--port", str(port), "--db", f"{workdir}/state.db"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, preexec_fn=die_with_parent)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):  # bounded wait for start-up
        try:
            if requests.get(base + "/__admin/health", timeout=1).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the mock did not start")


def timed(cmd: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return time.monotonic() - started


def children_cpu() -> float:
    """User + system CPU seconds of every child process ended so far (the tool and its own children)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def ours(base: str, n: int, workers: int, out: str) -> tuple[int, float]:
    seconds = timed([str(BIN / "contracts"), "run", "--base-url", base, "--phases", "fuzz", "--max-examples", str(n),
                     "--workers", str(workers), "--seed", "1", "--report", out])
    return json.loads(Path(out).read_text())["cases"], seconds


def schemathesis_cli(base: str, n: int, workers: int, out: str) -> tuple[int, float]:
    seconds = timed([str(BIN / "st"), "run", str(REPO / "openapi.yaml"), "--url", base, *MAKER,
                     "--phases", "examples,fuzzing", "-n", str(n), "-w", str(workers), "--seed", "1", "--no-shrink",
                     "--exclude-path-regex", "^/__admin|^/openapi", "--report", "json", "--report-json-path", out])
    return json.loads(Path(out).read_text())["test_cases"]["generated"], seconds


def first_request_seconds() -> tuple[float, float]:
    """Start `contracts run` against a listener that notes when the first request arrives (and refuses it,
    so the run ends there); the wall time to that request and the whole process's CPU time (an upper bound
    that a loaded machine does not inflate)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    arrived: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrived.append(time.monotonic())
            body = b'{"errors": [{"status": false, "code": 2013, "message": "refused by the bench"}]}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        before = children_cpu()
        started = time.monotonic()
        subprocess.run([str(BIN / "contracts"), "run", "--base-url", f"http://127.0.0.1:{server.server_port}"],
                       cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        return ((arrived[0] - started) if arrived else float("nan")), children_cpu() - before
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    end_with_signals()
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tool per worker count, alternated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_mock(tmp)
        try:
            print(f"target: mock at {base} (gunicorn, SQLite file); max-examples {args.max_examples}")
            ours(base, 2, 1, os.path.join(tmp, "warm.json"))  # warm both sides up (imports, first writes)
            schemathesis_cli(base, 2, 1, os.path.join(tmp, "warm-st.json"))
            first = [first_request_seconds() for _ in range(3)]
            print(f"start-up to first request: {min(w for w, _ in first) * 1000:.0f} ms wall, best of 3 "
                  f"({', '.join(f'{w * 1000:.0f}' for w, _ in first)} ms); the whole process "
                  f"{min(c for _, c in first) * 1000:.0f} ms CPU (goal: within 1 s)")
            print("workers N: `contracts run --workers N` is N processes drawing cases plus its own process sending "
                  "and judging them (so 1 worker is 2 processes); `st run -w N` is N threads in one process; goal: ratio >= 1.5x")
            print(f"{'tool':<16}{'workers':>8}{'cases':>8}{'seconds':>9}{'cases/s':>9}{'ratio':>8}{'cpu s':>8}"
                  f"{'cases/cpu s':>12}")
            for workers in [int(w) for w in args.workers.split(",")]:
                ratios = []
                for _ in range(args.rounds):  # the two tools alternate, so a busy moment costs both alike
                    rates = {}
                    for name, func in (("contracts run", ours), ("st run", schemathesis_cli)):
                        cpu = children_cpu()
                        cases, seconds = func(base, args.max_examples, workers, os.path.join(tmp, f"{name[0]}{workers}.json"))
                        cpu = children_cpu() - cpu
                        rates[name] = cases / seconds
                        ratio = f"{rates['contracts run'] / rates['st run']:.2f}x" if name == "st run" else ""
                        print(f"{name:<16}{workers:>8}{cases:>8}{seconds:>9.1f}{cases / seconds:>9.1f}{ratio:>8}"
                              f"{cpu:>8.1f}{cases / cpu:>12.1f}", flush=True)
                    ratios.append(rates["contracts run"] / rates["st run"])
                print(f"workers {workers}: ratio {statistics.median(ratios):.2f}x, the median of {args.rounds} rounds "
                      f"({', '.join(f'{r:.2f}' for r in ratios)}); goal >= 1.5x -> "
                      f"{'met' if statistics.median(ratios) >= 1.5 else 'MISSED'}")
            default = os.path.join(tmp, "default.json")
            seconds = timed([str(BIN / "contracts"), "run", "--base-url", base, "--report", default])
            report = json.loads(Path(default).read_text())
            phases = ", ".join(f"{k} {v['cases']} in {v['seconds']:.1f}s" for k, v in report["phases"].items())
            print(f"default `contracts run` (goal: about 15 s or less): {seconds:.1f}s wall, {report['cases']} cases ({phases}), "
                  f"{len(report['problems'])} problems, exit {report['exitCode']} (seed {report['seed']})")
            for problem in report["topProblems"]:
                print(f"  problem: {problem[:300]}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
