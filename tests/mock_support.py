"""Helpers for the mock's end-to-end tests: a small v2 client, served mocks (thread or process).

Everything talks HTTP to 127.0.0.1 only; a served process is always stopped by its context manager.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from capillary_contract.examples import decision_body
from capillary_contract.lifecycle import APPROVED
from capillary_contract.loader import load_contract
from capillary_contract.http import basic_authorization, free_port
from capillary_contract.users import DEFAULT_ORG, OTHER_ORG as OTHER_ORG_ID

BASE = "/api_gateway/v2/request-workflow"
ORG = str(DEFAULT_ORG)  # headers carry the orgs as text
OTHER_ORG = str(OTHER_ORG_ID)
CONTRACT = load_contract()
TYPES = tuple(CONTRACT.request_types)
REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _bodies() -> dict[str, dict[str, Any]]:
    from capillary_contract.examples import documented_bodies  # the spec's own create body per type

    return documented_bodies(CONTRACT)


def body_for(url_type: str) -> dict[str, Any]:
    """A valid create body of the type (a fresh copy)."""
    return copy.deepcopy(_bodies()[url_type])


def call_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["payload"]["IntouchAPITask-Payload"]


def basic(user: str, password: str | None = None) -> str:
    return basic_authorization(user, password if password is not None else user)


def auth(user: str, org: str | None = ORG, password: str | None = None) -> dict[str, str]:
    headers = {"Authorization": basic(user, password)}
    if org is not None:
        headers["X-CAP-API-AUTH-ORG-ID"] = org
    return headers


def decision(request_id: str, verdict: str = APPROVED, message: str = "decided by the test") -> dict[str, Any]:
    return decision_body(request_id, verdict, message)


def keep_alive_session() -> requests.Session:
    """A session that sends a read again on a fresh connection when the mock closed the idle one
    just as it was reused (the mock ends keep-alive connections idle for 10 s), as browsers do
    for idempotent requests; a write is never sent twice."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=frozenset({"GET", "HEAD"}),
                  raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


@dataclass
class Client:
    """The v2 workflow API and the admin API of one mock, over real HTTP."""

    base_url: str
    session: requests.Session = field(default_factory=keep_alive_session)
    timeout: float = 30.0

    def create(self, url_type: str, body: Any, user: str = "maker", headers: dict[str, str] | None = None,
               **kw: Any) -> requests.Response:
        return self.session.post(f"{self.base_url}{BASE}/{url_type}", json=body,
                                 headers={**auth(user), **(headers or {})}, timeout=self.timeout, **kw)

    def decide(self, url_type: str, request_id: str, verdict: str = "approved", user: str = "checker",
               headers: dict[str, str] | None = None) -> requests.Response:
        return self.session.put(f"{self.base_url}{BASE}/{url_type}", json=decision(request_id, verdict),
                                headers={**auth(user), **(headers or {})}, timeout=self.timeout)

    def get(self, request_id: str, user: str = "maker", org: str = ORG) -> requests.Response:
        return self.session.get(f"{self.base_url}{BASE}/requests/{request_id}", headers=auth(user, org),
                                timeout=self.timeout)

    def list(self, user: str = "maker", **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}{BASE}/requests", params=params, headers=auth(user),
                                timeout=self.timeout)

    def pending(self, url_type: str, body: dict[str, Any] | None = None, user: str = "maker") -> dict[str, Any]:
        """Create a request and return its document (asserting it waits for a checker)."""
        answer = self.create(url_type, body if body is not None else body_for(url_type), user=user)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["state"] == "AdminTask", data
        return data

    def admin(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/__admin/{path}", timeout=self.timeout, **kw)

    def events(self, request_id: str) -> list[dict[str, Any]]:
        answer = self.admin("GET", "events", params={"requestId": request_id})
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]


def codes(answer: requests.Response) -> list[int]:
    return [e["code"] for e in answer.json()["errors"]]


def assert_error(answer: requests.Response, status: int, code: int) -> dict[str, Any]:
    """The answer is `status` in the v2 envelope, with `code` and the spec's exact message."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    errors = answer.json()["errors"]
    assert code in [e["code"] for e in errors], errors
    for entry in errors:
        assert entry["status"] is False
        assert entry["message"] == CONTRACT.workflow_errors[entry["code"]]
    return errors[0]


def assert_admin_error(answer: requests.Response, status: int) -> list[str]:
    """The answer is `status` in the admin API's envelope (the v2 one, with the HTTP status as its
    code); returns what its entries say was wrong ("field: detail", or the detail alone)."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"].startswith("application/json")
    errors = answer.json()["errors"]
    assert errors and all(e["status"] is False and e["code"] == status and e["message"] for e in errors), errors
    return [f"{e['field']}: {e['detail']}" if "field" in e else e.get("detail", "") for e in errors]


# -- `mockserver serve` as a process ----------------------------------------------------
def mockserver_command() -> list[str]:
    script = Path(sys.executable).with_name("mockserver")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]


@dataclass
class ServedMock:
    base_url: str
    process: subprocess.Popen
    port: int
    log: Path

    def client(self) -> Client:
        return Client(self.base_url)


def wait_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout_s: float = 30.0,
                 poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mockserver exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(base_url + "/__admin/health", timeout=1).status_code == 200:
                return
        time.sleep(poll_s)
    raise RuntimeError(f"mockserver not healthy after {timeout_s}s:\n{log.read_text()[-3000:]}")


def start_served(workdir: Path, *args: str, db: str = "tmp/state.db", port: int | None = None,
                 poll_s: float = 0.05, preexec_fn: Any = None) -> ServedMock:
    """`mockserver serve --db <db> --port <free>` run in `workdir` (a relative db lives there).
    `preexec_fn` runs in the child before exec (the benches' bench/lifetime.die_with_parent)."""
    port = port or free_port()
    log = workdir / f"mockserver-{port}.log"
    handle = log.open("ab")
    process = subprocess.Popen([*mockserver_command(), "serve", "--db", db, "--port", str(port), *args],
                               cwd=workdir, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=preexec_fn)
    handle.close()
    served = ServedMock(f"http://127.0.0.1:{port}", process, port, log)
    try:
        wait_healthy(served.base_url, process, log, poll_s=poll_s)
    except BaseException:
        stop_served(served)
        raise
    return served


def stop_served(served: ServedMock, sig: int = signal.SIGTERM) -> None:
    """Stop the served mock's process group (gunicorn arbiter and its workers)."""
    if served.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(served.process.pid, sig)
        try:
            served.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait(timeout=15)


@contextlib.contextmanager
def served_mock(workdir: Path, *args: str, db: str = "tmp/state.db") -> Iterator[ServedMock]:
    served = start_served(workdir, *args, db=db)
    try:
        yield served
    finally:
        stop_served(served)
