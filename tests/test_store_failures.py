"""A database that disappears, is replaced or fills up under a running mock (issue 11, items 6 and 8):
every API answers 503 or 507 in its own envelope, never a bare 500, and the mock recovers when space
returns. Real `mockserver serve` processes; the full disk is a real, small tmpfs."""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from mock_support import (BASE, Client, ServedMock, assert_admin_error, auth, body_for, free_port, mockserver_command, start_served,
                          stop_served, wait_healthy)
from capillary_contract.receiver import Receiver

LEGACY_ADD = "/v1.1/request/add"


_NEW_NUMBERS = itertools.count(919000000002)


def _legacy_add(base_url: str) -> requests.Response:
    """A v1.1 add that is new each time (a repeated one is refused as a duplicate before any write)."""
    item = {"type": "CHANGE_IDENTIFIER", "base_type": "MOBILE", "mobile": "919000000001", "old_value": "919000000001",
            "new_value": str(next(_NEW_NUMBERS)), "reason": "test"}
    return requests.post(base_url + LEGACY_ADD, params={"format": "json"}, json={"root": {"request": [item]}},
                         headers=auth("maker"), timeout=30)


def _until(status: int, call: Callable[[], requests.Response], tries: int = 50) -> requests.Response:
    """`call` until it answers `status`: on a full disk a small write may still fit, and uses up the rest."""
    for _ in range(tries):
        answer = call()
        if answer.status_code == status:
            break
    return answer


def _assert_unavailable_everywhere(served: ServedMock, status: int) -> None:
    """Each API family answers `status` in its own envelope, naming no Python exception."""
    client = served.client()
    v2 = _until(status, lambda: client.create("EARN-BADGE", body_for("EARN-BADGE")))
    assert v2.status_code == status, v2.text
    assert v2.json()["errors"][0]["status"] is False
    legacy = _until(status, lambda: _legacy_add(served.base_url))
    assert legacy.status_code == status, legacy.text
    assert legacy.json()["response"]["status"]["success"] == "false"
    admin = _until(status, lambda: client.admin("POST", "faults", json={"outcome": "failure"}))
    assert_admin_error(admin, status)
    for answer in (v2, legacy, admin):
        assert answer.headers["Content-Type"].startswith("application/json")
        for python_text in ("Traceback", "sqlite3", "OperationalError", "StoreUnavailable", "StoreFull"):
            assert python_text not in answer.text


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_file_deleted_or_replaced_while_running_answers_503(tmp_path, how) -> None:
    served = start_served(tmp_path, "--workers", "2", "--strict")  # 503 as the documents say
    try:
        client = served.client()
        kept = client.pending("EARN-BADGE")
        db = tmp_path / "tmp" / "state.db"
        if how == "deleted":
            for path in db.parent.glob("state.db*"):
                path.unlink()
        else:
            other = tmp_path / "other.db"
            shutil.copy(db, other)
            os.replace(other, db)
        _assert_unavailable_everywhere(served, 503)
        assert client.get(kept["requestId"]).status_code == 503
        health = client.admin("GET", "health")
        (detail,) = assert_admin_error(health, 503)
        # a process that opens the store afresh (a restarted dispatcher) may have made a new file meanwhile
        assert ("removed" if how == "deleted" else "replaced") in detail or "replaced" in detail
    finally:
        stop_served(served)


# -- a full disk: a 2 MiB tmpfs in a mount namespace of the served mock's own ----------------------
DISK_BYTES = 2 * 1024 * 1024


@contextlib.contextmanager
def served_on_small_disk(workdir: Path, *args: str) -> Iterator[tuple[ServedMock, Path]]:
    """`mockserver serve` with its database on a tmpfs of DISK_BYTES that a filler file almost fills
    (leaving room for the schema and a few hundred requests). The tmpfs lives in the server's own
    mount namespace (`unshare -rm`: no privileges needed); the test reaches it through
    /proc/<pid>/root. Yields the server and the filler's path."""
    disk = workdir / "disk"
    disk.mkdir()
    port = free_port()
    log = workdir / f"mockserver-{port}.log"
    command = " ".join([
        f"mount -t tmpfs -o size={DISK_BYTES} tmpfs {disk} &&",
        f"head -c {DISK_BYTES - 640 * 1024} /dev/zero > {disk}/filler &&",
        "exec \"$@\"",
    ])
    with log.open("ab") as handle:
        process = subprocess.Popen(
            ["unshare", "-rm", "sh", "-c", command, "sh", *mockserver_command(), "serve", "--db", f"{disk}/state.db",
             "--port", str(port), *args],
            cwd=workdir, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    served = ServedMock(f"http://127.0.0.1:{port}", process, port, log)
    try:
        wait_healthy(served.base_url, process, log)
        yield served, Path(f"/proc/{process.pid}/root{disk}/filler")
    finally:
        stop_served(served)


def _fill(client: Client, limit: int = 5000) -> tuple[int, requests.Response]:
    """Create until the disk is full; returns how many fitted and the first refusal."""
    for made in range(limit):
        answer = client.create("EARN-BADGE", body_for("EARN-BADGE"))
        if answer.status_code != 200:
            return made, answer
    raise AssertionError(f"{limit} creates fitted on a {DISK_BYTES}-byte disk")


def test_a_full_disk_answers_507_in_each_envelope_and_recovers_when_space_returns(tmp_path) -> None:
    with served_on_small_disk(tmp_path, "--workers", "2", "--strict") as (served, filler):
        client = served.client()
        made, refused = _fill(client)
        assert made > 0
        assert refused.status_code == 507, refused.text
        _assert_unavailable_everywhere(served, 507)
        stored = client.admin("GET", "health").json()["requests"]  # reads still work
        assert stored >= made
        filler.unlink()
        again = client.create("EARN-BADGE", body_for("EARN-BADGE"))
        assert again.status_code == 200, again.text
        assert client.get(again.json()["data"]["requestId"]).status_code == 200
        assert client.admin("GET", "health").json()["requests"] == stored + 1


def test_a_delivery_whose_result_cannot_be_recorded_backs_off(tmp_path) -> None:
    """Issue 11, item 6: with the disk full, no try's result can be written; the delivery must still
    wait its back-off (at most 0.5 s here) between tries, not be re-sent at every dispatcher round
    (50 ms: 80 tries in 4 s)."""
    answers = {"status": 503}
    with Receiver(script=lambda body, seen: answers["status"]) as hook, \
            served_on_small_disk(tmp_path, "--workers", "1", "--webhook", hook.url, "--webhook-delay", "0.2",
                                 "--webhook-max-delay", "0.5", "--webhook-attempts", "10000") as (served, filler):
        client = served.client()
        first = client.pending("EARN-BADGE")["requestId"]
        _fill(client)
        since = time.time()
        time.sleep(4)  # the dispatcher keeps trying; no result can be recorded
        arrivals = [r for r in hook.received if r.body["data"]["requestId"] == first and r.at >= since]
        assert len(arrivals) <= 8, len(arrivals)
        answers["status"] = 200
        filler.unlink()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event = client.events(first)[0]
            if event["deliveries"][0]["state"] == "delivered":
                break
            time.sleep(0.2)
        assert event["deliveries"][0]["state"] == "delivered", event
