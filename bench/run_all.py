"""`make bench`: run every bench/bench_*.py in turn and print its figures (`run_all.py mock memory`: only those).

A bench that cannot run (an optional tool missing, a crash) is reported with the reason and the
others still run; the exit code is 0 unless every bench failed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from lifetime import die_with_parent  # noqa: E402
TIMEOUT_S = 900


def main(argv: list[str] | None = None) -> int:
    names = argv if argv is not None else sys.argv[1:]  # e.g. `run_all.py mock memory`: only those
    scripts = [s for s in sorted(BENCH.glob("bench_*.py")) if not names or s.stem.removeprefix("bench_") in names]
    failed = []
    for script in scripts:
        print(f"== {script.name} (load average {os.getloadavg()[0]:.1f}: figures from a busy machine are noisy)", flush=True)
        started = time.monotonic()
        bench = subprocess.Popen([sys.executable, str(script)], cwd=BENCH.parent, preexec_fn=die_with_parent)
        try:
            code = bench.wait(timeout=TIMEOUT_S)
            status, ok = f"exit {code}", code == 0
        except subprocess.TimeoutExpired:  # SIGTERM first: the bench stops its servers (bench/lifetime.py)
            bench.terminate()
            try:
                bench.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bench.kill()
                bench.wait()
            status, ok = f"stopped after {TIMEOUT_S} s", False
        if not ok:
            failed.append(script.name)
            print(f"   {script.name} did not finish cleanly ({status}); see its output above", flush=True)
        print(f"   ({time.monotonic() - started:.0f} s)\n", flush=True)
    print(f"benches: {len(scripts) - len(failed)} ran, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if scripts and len(failed) == len(scripts) else 0


if __name__ == "__main__":
    sys.exit(main())
