"""How fast `contracts fixtures` writes the default set: wall time and fixtures per second.

Target: the default set (seed 0) in under 10 s. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.fixtures.generate import DEFAULT_SEED, generate  # noqa: E402
from contracts.fixtures.legacy.scripts import valid_scripts  # noqa: E402
from contracts.fixtures.legacy.invalid import invalid_scripts  # noqa: E402
from contracts.fixtures.legacy.recorder import LegacyRecorder  # noqa: E402
from capillary_contract.loader import load_contract  # noqa: E402

TARGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    started = time.perf_counter()
    contract = load_contract()
    load_s = time.perf_counter() - started
    times, files = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            files = generate(Path(out), args.seed, contract)
            times.append(time.perf_counter() - t0)
    kinds = Counter(entry["kind"] for entry in files)
    legacy_s, scripts = _legacy_part(contract, args.seed)
    first, median = times[0], statistics.median(times)
    print(f"contract load: {load_s:.2f} s")
    print(f"default set (seed {args.seed}): {len(files)} fixtures "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    print(f"wall time: first run {first:.2f} s (cold caches), median of {len(times)} {median:.2f} s "
          f"(target < {TARGET_S:.0f} s: {'met' if first < TARGET_S else 'MISSED'})")
    print(f"throughput: {len(files) / median:.0f} fixtures/s (median run), {len(files) / first:.0f} fixtures/s (first run)")
    print(f"of which v1.1 (build {scripts} scripts, record each from the in-process mock): {legacy_s:.2f} s, "
          f"{scripts / legacy_s:.0f} scripts/s")
    return 0


def _legacy_part(contract: object, seed: int) -> tuple[float, int]:
    """Time the v1.1 part alone: scripts built from the spec and recorded from the mock."""
    t0 = time.perf_counter()
    recorder = LegacyRecorder()
    try:
        scripts = [*valid_scripts(contract, seed), *invalid_scripts(contract, seed)]
        for script in scripts:
            recorder.record(contract, script)
    finally:
        recorder.close()
    return time.perf_counter() - t0, len(scripts)


if __name__ == "__main__":
    sys.exit(main())
