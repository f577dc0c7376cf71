"""Replicas of the mock on one PostgreSQL database, behind the README's nginx, all on loopback.

    with replicas(workdir, url, 2, "--webhook", hook.url) as group, balancer(group.ports) as front:
        requests.get(front.base_url + "/__admin/health")

nginx runs `docs/replicas/nginx.conf` as it is, only its loopback ports replaced by free
ones, unprivileged (the PostgreSQL user) from a private temp dir; every process started here
is stopped when its block ends.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
import requests

from mock_support import REPO, ServedMock, free_port, start_served, stop_served
from postgres_cluster import as_user, private_dir, system_user

NGINX_CONF = REPO / "docs" / "replicas" / "nginx.conf"
EXAMPLE_PORTS = ("127.0.0.1:4010", "127.0.0.1:4011", "127.0.0.1:4012")  # the balancer, then the replicas


@dataclass
class Replicas:
    url: str
    workdir: Path
    args: tuple[str, ...]
    members: list[ServedMock]

    @property
    def ports(self) -> list[int]:
        return [m.port for m in self.members]

    def restart(self, index: int) -> ServedMock:
        """Start replica `index` again, on its port, on the same database (no reset)."""
        self.members[index] = start_served(self.workdir, *self.args, db=self.url, port=self.members[index].port)
        return self.members[index]

    def kill_9(self, index: int, timeout_s: float = 10.0) -> None:
        """SIGKILL replica `index` (arbiter, workers, dispatcher at once), then wait until its port
        refuses connections: a worker still exiting would take a connection and reset it."""
        stop_served(self.members[index], signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.members[index].port), timeout=1).close()
            except ConnectionRefusedError:
                return
            assert time.monotonic() < deadline, f"port {self.members[index].port} still open after the kill"
            time.sleep(0.05)

    def delivering(self) -> int:
        """Which replica's dispatcher holds the delivery lease now (the lease row names its pid)."""
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            row = conn.execute("SELECT owner FROM dispatcher_lease").fetchone()
        assert row is not None, "no dispatcher holds the lease"
        pid = int(row[0].split(":")[1])
        parent = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        return next(i for i, m in enumerate(self.members) if m.process.pid == parent)


@contextlib.contextmanager
def replicas(workdir: Path, url: str, count: int, *args: str) -> Iterator[Replicas]:
    """`count` `mockserver serve` processes on the database `url`, each with `args`."""
    group = Replicas(url, workdir, args, [])
    try:
        for _ in range(count):
            group.members.append(start_served(workdir, *args, db=url))
        yield group
    finally:
        for member in group.members:
            stop_served(member)


@dataclass
class Balancer:
    base_url: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def balancer(ports: list[int], timeout_s: float = 30.0) -> Iterator[Balancer]:
    """docs/replicas/nginx.conf in front of the replicas on `ports`."""
    listen = free_port()
    conf = NGINX_CONF.read_text()
    for example, port in zip(EXAMPLE_PORTS, [listen, *ports], strict=True):
        assert example in conf, f"{NGINX_CONF} no longer names {example}"
        conf = conf.replace(example, f"127.0.0.1:{port}")
    user = system_user()
    root = private_dir(user, "capillary-lb-")
    (root / "nginx.conf").write_text(conf)
    log = root / "nginx.log"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with log.open("ab") as out:
        process = subprocess.Popen(as_user(user, nginx, "-p", str(root), "-c", str(root / "nginx.conf")),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    base_url = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert process.poll() is None, f"nginx exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            with contextlib.suppress(requests.RequestException):
                if requests.get(base_url + "/__admin/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"nginx not answering after {timeout_s}s:\n{log.read_text()[-3000:]}"
            time.sleep(0.05)
        yield Balancer(base_url, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # nginx: fast shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)
