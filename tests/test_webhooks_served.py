"""`mockserver serve` (gunicorn, two workers, a real SQLite file): the arbiter's one dispatcher
delivers to `--webhook` receivers, and a kill -9 with undelivered events loses none of them.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import requests

from capillary_contract.http import free_port
from capillary_contract.receiver import Receiver
from test_webhooks import Api, _lifecycle, _states, _until_tried

SECRET = "Bearer hook-secret"


def _command() -> list[str]:
    script = Path(sys.executable).with_name("mockserver")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]


@contextlib.contextmanager
def serving(workdir: Path, db: Path, hook: Receiver, stop_with: int = signal.SIGTERM) -> Iterator[Api]:
    """`mockserver serve` in its own process group, stopped (whole group) with `stop_with`."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*_command(), "serve", "--db", str(db), "--port", str(port), "--workers", "2",
             "--webhook", hook.url, "--webhook-header", f"Authorization: {SECRET}"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process, log)
        try:
            yield Api(f"http://127.0.0.1:{port}")
        except AssertionError as failure:  # what the server said is half of why
            raise AssertionError(f"{failure}\n--- {log.name} (end):\n{log.read_text(errors='replace')[-3000:]}") \
                from failure
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, stop_with)
        process.wait(timeout=30)


def _wait_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        with contextlib.suppress(requests.RequestException):
            if requests.get(base_url + "/__admin/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"mockserver not healthy after {timeout_s}s:\n{log.read_text()[-3000:]}")


def test_kill_9_with_undelivered_events_then_restart_delivers_them(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    hook = Receiver(port=free_port())  # down for now
    with serving(tmp_path, db, hook, stop_with=signal.SIGKILL) as api:
        ids = {"approved": _lifecycle(api, "POINTS-REDEMPTION", "approved"),
               "rejected": _lifecycle(api, "GOODWILL-POINTS", "rejected"),
               "failed": _lifecycle(api, "EARN-BADGE", "failed")}
        _until_tried(api, list(ids.values()))  # the arbiter's dispatcher runs, and gets nowhere
        before = api.events()["events"]
        assert len(before) == 6 and all(e["deliveries"][0]["state"] == "pending" for e in before)

    with hook, serving(tmp_path, db, hook) as api:
        after = api.settled()

    assert [e["eventId"] for e in after] == [e["eventId"] for e in before]
    assert all(e["deliveries"][0]["state"] == "delivered" for e in after)
    received = hook.accepted()
    # one dispatcher for two workers: each event arrived exactly once, in order per request
    assert Counter(b["eventId"] for b in received) == Counter(e["eventId"] for e in before)
    for ending, request_id in ids.items():
        assert _states(received, request_id) == ["AdminTask", ending]
    assert all(r.headers.get("Authorization") == SECRET for r in hook.received)
