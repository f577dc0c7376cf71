"""Stopping a mock is quick and clean: `serve_in_thread` stops in milliseconds, and a journal flush
under way finishes before the store closes its connections (closing one under a writing thread
crashed SQLite: a segfault, once teardown stopped taking 0.5 s).

The mocks run in a child process, so a crash fails this test instead of killing the test worker.
"""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys, tempfile, time, requests
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

folder, slowest = tempfile.mkdtemp(), 0.0
for i in range(int(sys.argv[1])):
    with serve_in_thread(MockConfig(db=f"{folder}/{i}.db", strict=True)) as mock:
        for _ in range(3):  # journalled answers: the flush thread has rows to write at close
            requests.get(mock.base_url + "/api_gateway/v2/request-workflow/requests", headers=mock.headers("maker"),
                         timeout=10).raise_for_status()
        started = time.perf_counter()
    slowest = max(slowest, time.perf_counter() - started)
print(f"slowest teardown {slowest:.3f}s")
"""


def test_many_mocks_start_and_stop_cleanly():
    run = subprocess.run([sys.executable, "-c", SCRIPT, "60"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
    assert "journal flush failed" not in run.stderr, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stdout.startswith("slowest teardown ")
