"""The webhook dispatcher of `mockserver serve`: restarted after a kill -9, reported by health, gone
soon after its server is, and prompt on SIGTERM even while a receiver holds a delivery."""
from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from capillary_contract.receiver import Answer, Receiver, always
from mock_support import ServedMock, served_mock, start_served

SLOW_RECEIVER_S = 20.0


def _health(served: ServedMock) -> dict[str, Any]:
    answer = requests.get(served.base_url + "/__admin/health", timeout=10)
    assert answer.status_code == 200
    return answer.json()


def _until(condition: Callable[[], Any], timeout_s: float = 20.0, step_s: float = 0.1) -> Any:
    """Poll until `condition()` is truthy (its value) or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step_s)
    pytest.fail(f"not within {timeout_s} s")


def _dispatcher_pid(served: ServedMock, timeout_s: float = 20.0) -> int:
    owner = _until(lambda: _health(served)["dispatcher"]["owner"], timeout_s)
    return int(owner.split(":")[-2])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _create(served: ServedMock) -> str:
    return served.client().pending("GOODWILL-POINTS")["requestId"]


def test_a_killed_dispatcher_is_restarted_and_health_tells_its_state(tmp_path: Path) -> None:
    with Receiver(script=always(200)) as hook, served_mock(tmp_path, "--webhook", hook.url) as served:
        health = _until(lambda: (h := _health(served))["dispatcher"]["alive"] and h)
        assert health["status"] == "ok" and health["outbox"]["pending"] == 0
        first = _dispatcher_pid(served)

        os.kill(first, signal.SIGSTOP)  # alive but silent: its lease runs out
        try:
            _create(served)
            degraded = _until(lambda: (h := _health(served))["status"] == "degraded" and h)
            assert degraded["dispatcher"] == {"alive": False, "owner": None}
            assert degraded["outbox"]["pending"] == 1
        finally:
            with contextlib.suppress(ProcessLookupError):  # already dead and reaped by its supervisor
                os.kill(first, signal.SIGKILL)
                os.kill(first, signal.SIGCONT)

        assert hook.wait_for(1, timeout_s=30)  # a new dispatcher took over and sent what was pending
        second = _dispatcher_pid(served)
        assert second != first and not _alive(first)
        settled = _until(lambda: (h := _health(served))["outbox"]["pending"] == 0 and h)
        assert settled["status"] == "ok" and settled["dispatcher"]["alive"] is True


def test_an_orphaned_dispatcher_exits_even_while_a_receiver_holds_a_delivery(tmp_path: Path) -> None:
    with Receiver(script=lambda body, seen: Answer(200, SLOW_RECEIVER_S)) as hook, \
            served_mock(tmp_path, "--webhook", hook.url, "--webhook-timeout", "30") as served:
        dispatcher = _dispatcher_pid(served)
        _create(served)
        assert hook.wait_for(1, timeout_s=20)  # a send is under way, and will be for 20 s
        arbiter = served.process.pid
        workers = [pid for pid in _children(arbiter) if pid != dispatcher]
        for pid in [arbiter, *workers]:
            os.kill(pid, signal.SIGKILL)
        _until(lambda: not _alive(dispatcher), timeout_s=5)


def test_sigterm_stops_the_dispatcher_promptly_while_a_receiver_holds_a_delivery(tmp_path: Path) -> None:
    with Receiver(script=lambda body, seen: Answer(200, SLOW_RECEIVER_S)) as hook, \
            served_mock(tmp_path, "--webhook", hook.url, "--webhook-timeout", "30") as served:
        dispatcher = _dispatcher_pid(served)
        _create(served)
        assert hook.wait_for(1, timeout_s=20)
        os.kill(dispatcher, signal.SIGTERM)
        _until(lambda: not _alive(dispatcher), timeout_s=3)
        # and the server has another one (a restart imports the app afresh: slow on a loaded machine)
        assert _dispatcher_pid(served, timeout_s=60) != dispatcher


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_to_the_process_group_stops_the_dispatcher_with_its_server(tmp_path: Path, stop: int) -> None:
    """As Ctrl-C in a terminal (or a `kill` of the group) does: the dispatcher's exit is part of the stop,
    not a death to log and repair while the server goes."""
    with Receiver(script=always(200)) as hook:
        served = start_served(tmp_path, "--webhook", hook.url)
        try:
            dispatcher = _dispatcher_pid(served)
        finally:
            os.killpg(served.process.pid, stop)
            served.process.wait(timeout=15)
    _until(lambda: not _alive(dispatcher), timeout_s=5)
    log = served.log.read_text(errors="replace")
    assert "exited" not in log, log
    assert log.count("webhook dispatcher started") == 1, log
