"""The suite's PostgreSQL is real, unprivileged, on loopback only, and gone when stopped."""
from __future__ import annotations

import os

import psycopg
import pytest

from postgres_cluster import PASSWORD, ROLE, postgres_cluster


def _uid_of(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_server_runs_unprivileged_on_loopback(postgres_server):
    assert _uid_of(postgres_server.process.pid) != 0
    assert postgres_server.sql("SHOW listen_addresses") == "127.0.0.1"
    assert postgres_server.sql("SHOW unix_socket_directories") == str(postgres_server.root)


def test_mock_role_logs_in_with_its_password_and_owns_its_database(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        user, superuser, owner = conn.execute(
            "SELECT current_user, rolsuper, pg_get_userbyid(datdba) FROM pg_roles, pg_database"
            " WHERE rolname = current_user AND datname = current_database()").fetchone()
        conn.execute("CREATE TABLE probe (id int)")  # the owner may create the mock's schema
    assert (user, superuser, owner) == (ROLE, False, ROLE)
    wrong = postgres_url.replace(f":{PASSWORD}@", ":not-the-password@")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


def test_each_test_gets_an_empty_database(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 0  # the table the test above made is in a database of its own, dropped since


def test_a_stopped_cluster_leaves_no_process_and_no_files():
    with postgres_cluster() as cluster:
        pid, root = cluster.process.pid, cluster.root
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not os.path.exists(f"/proc/{pid}")
    assert not root.exists()
