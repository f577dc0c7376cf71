"""A real, throwaway PostgreSQL cluster for the tests and benches, never run as root.

    with postgres_cluster() as cluster:
        url = cluster.create_database("t1")     # postgresql://mock:mock@127.0.0.1:<port>/t1

Debian's server binaries (`/usr/lib/postgresql/<N>/bin`, installed by `.ci/run` where missing) run
as an unprivileged system user when we are root (`postgres` from Debian's package, else a system
user created for it), through `setpriv`, which also makes the kernel stop the server if the process
that started it dies. The cluster lives in a temp dir owned by that user, listens on 127.0.0.1 only
(on a free port) and on a unix socket in that dir, and is stopped and removed on exit.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from capillary_contract.http import free_port

ROLE, PASSWORD = "mock", "mock"  # the login the mock uses: owns its databases, no superuser
SYSTEM_USER_ENV = "CAPILLARY_PG_USER"  # run the server as this OS user instead
FALLBACK_SYSTEM_USER = "capillary-pg"
START_TIMEOUT_S = 60.0
# A throwaway cluster: no fsync (nothing here outlives the machine), room for every replica's pool.
TEST_SETTINGS = {"fsync": "off", "full_page_writes": "off", "max_connections": "200"}


def server_bindir() -> Path:
    """Debian's newest server binaries, else whatever `initdb` is on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    raise RuntimeError("PostgreSQL's server is not installed (Debian: apt-get install postgresql; .ci/run does it)")


def system_user() -> pwd.struct_passwd:
    """The unprivileged OS user the server runs as (ourselves unless we are root)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in (os.environ.get(SYSTEM_USER_ENV), "postgres"):
        if name:
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(FALLBACK_SYSTEM_USER)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    FALLBACK_SYSTEM_USER], check=True, capture_output=True)
    return pwd.getpwnam(FALLBACK_SYSTEM_USER)


def as_user(user: pwd.struct_passwd, *command: str) -> list[str]:
    """`command` run as `user` when we are root (the kernel sends it SIGINT if we die), else as is."""
    if os.geteuid() != 0:
        return [*command]
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--pdeathsig=INT",
            "--", *command]


def private_dir(user: pwd.struct_passwd, prefix: str) -> Path:
    """A new temp dir that only `user` (and root) can enter."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chown(root, user.pw_uid, user.pw_gid)
    return root


@dataclass
class Cluster:
    """A running cluster: `url(db)` for the mock, `sql(...)` for set-up as the superuser."""

    root: Path
    port: int
    bindir: Path
    user: pwd.struct_passwd
    process: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _as_user(self, *command: str) -> list[str]:
        return as_user(self.user, *command)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the cluster's superuser over the unix socket; its output."""
        done = subprocess.run(self._as_user(str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v",
                                            "ON_ERROR_STOP=1", "-h", str(self.root), "-p", str(self.port),
                                            "-U", "postgres", "-d", database, "-c", statement),
                              capture_output=True, text=True, timeout=60, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {statement}\n{done.stderr}")
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new, empty database owned by the mock's role; its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.sql(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0")
        return self.url(name)

    def start(self, settings: dict[str, str]) -> None:
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                   "unix_socket_directories": str(self.root), **settings}
        handle = self.log.open("ab")
        try:
            self.process = subprocess.Popen(
                self._as_user(str(self.bindir / "postgres"), "-D", str(self.data),
                              *[arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]),
                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root,
                start_new_session=True)
        finally:
            handle.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self._log_tail()}")
            ready = subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True, timeout=10)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT_S}s:\n{self._log_tail()}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected), then immediate, then kill."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""


def wipe(url: str) -> None:
    """Make the database empty again (as its owner): every table, sequence and type of the mock goes."""
    import psycopg  # only where a cluster is used

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION {ROLE}")


def _initdb(cluster: Cluster) -> None:
    password_file = cluster.root / "superuser.pw"
    password_file.write_text(PASSWORD + "\n")
    os.chown(password_file, cluster.user.pw_uid, cluster.user.pw_gid)
    # Only the socket (our own set-up) is trusted; TCP, which the mock uses, asks for a password.
    done = subprocess.run(cluster._as_user(str(cluster.bindir / "initdb"), "-D", str(cluster.data), "-U", "postgres",
                                           "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                           "--locale=C", f"--pwfile={password_file}"),
                          capture_output=True, text=True, timeout=120, cwd=cluster.root)
    password_file.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def postgres_cluster(settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """initdb + start a cluster as an unprivileged user; stopped and removed when the block ends."""
    user = system_user()
    root = private_dir(user, "capillary-pg-")
    cluster = Cluster(root=root, port=free_port(), bindir=server_bindir(), user=user)
    try:
        _initdb(cluster)
        cluster.start(TEST_SETTINGS if settings is None else settings)
        cluster.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
