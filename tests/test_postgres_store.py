"""The PostgreSQL store on its own: the mock makes and migrates its schema, refuses a database
from a newer mock, hides the password, and takes any text a client sends (a real PostgreSQL)."""
from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from mock_support import BASE, Client, auth, body_for, free_port, mockserver_command
from mockserver.config import MockConfig
from mockserver.testing import RunningMock, serve_in_thread
from mockserver.store import StoreError, StoreUnavailable, open_store
from mockserver.store.base import FIRST_LEGACY_ID
from mockserver.store.postgres_schema import LATEST, migrate
from postgres_cluster import PASSWORD


def _version(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]


def test_an_empty_database_gets_the_schema_once_even_from_replicas_starting_together(postgres_url):
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: open_store(MockConfig(db=postgres_url)), range(4)))
    for store in stores:
        store.close()
    assert _version(postgres_url) == LATEST
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def test_an_older_database_is_migrated_and_keeps_its_data(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True, row_factory=dict_row) as conn:
        migrate(conn, up_to=1)
        document = {"requestId": "r-1", "userId": 232134, "state": "AdminTask", "startTime": "2026-01-01T00:00:00",
                    "endTime": None}
        conn.execute("INSERT INTO requests (request_id, org_id, url_type, state, maker_id, start_time, entity_info,"
                     " document, claim) VALUES ('r-1', 51250, 'GOODWILL-POINTS', 'AdminTask', 232134,"
                     " '2026-01-01T00:00:00', '{}', %s, 'a decision a crash left')", (json.dumps(document),))
        conn.execute("INSERT INTO legacy_requests (id, org_id, type, base_type, status, customer, added_by_id,"
                     " requested_on, record, fields) VALUES (%s, 51250, 'GOODWILL', 'POINTS', 'PENDING', '{}',"
                     " 232134, '2026-01-01 00:00:00', '{}', '{}')", (FIRST_LEGACY_ID + 4,))
    store = open_store(MockConfig(db=postgres_url))
    try:
        assert _version(postgres_url) == LATEST
        with store.transaction() as tx:
            stored = tx.get_request(51250, "r-1")
            assert stored.document == document and not stored.claimed  # the old claim never lapsed: released
            assert tx.next_legacy_id() == FIRST_LEGACY_ID + 5
            tx.add_journal_entries([JOURNALLED])  # version 3: the journal keeps answers
        with store.read() as reader:
            assert reader.list_journal(1, None)[0]["responseBody"] == {"errors": []}
    finally:
        store.close()


JOURNALLED = {"time": "2026-01-01T00:00:00Z", "method": "GET", "path": "/x", "query": "", "headers": {},
              "status": 404, "durationMs": 1.0, "responseBody": '{"errors": []}'}


def test_a_sqlite_file_from_before_answers_were_journalled_is_migrated(tmp_path):
    import sqlite3
    path = tmp_path / "old.db"
    open_store(MockConfig(db=str(path))).close()
    with sqlite3.connect(path) as conn:  # the journal table as it was before the response column
        conn.execute("DROP TABLE journal")
        conn.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, method TEXT"
                     " NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL, headers TEXT NOT NULL, body TEXT, status"
                     " INTEGER NOT NULL, duration_ms REAL NOT NULL)")
    store = open_store(MockConfig(db=str(path)))
    try:
        with store.transaction() as tx:
            tx.add_journal_entries([JOURNALLED])
        with store.read() as reader:
            assert reader.list_journal(1, None)[0]["responseBody"] == {"errors": []}
    finally:
        store.close()


def test_a_database_from_a_newer_mock_is_refused(postgres_url):
    open_store(MockConfig(db=postgres_url)).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (LATEST + 1,))
    with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, newer than this mock knows"):
        open_store(MockConfig(db=postgres_url))


def test_an_unreachable_database_is_a_clear_error_before_serving(tmp_path, postgres_url):
    wrong = postgres_url.replace(f":{PASSWORD}@", ":not-the-password@")
    with pytest.raises(StoreUnavailable, match="password authentication failed"):
        open_store(MockConfig(db=wrong))
    done = subprocess.run([*mockserver_command(), "serve", "--db", wrong, "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "password authentication failed" in done.stderr and "not-the-password" not in done.stderr
    assert "Traceback" not in done.stderr


def test_health_names_the_database_without_its_password(live_mock, store_url):
    storage = requests.get(live_mock.base_url + "/__admin/health", timeout=10).json()["storage"]
    if store_url.startswith("postgresql://"):
        assert storage == store_url.replace(f":{PASSWORD}@", ":***@")
    else:
        assert storage == store_url


def test_text_postgresql_cannot_hold_is_taken_and_found(postgres_url):
    """NUL (JSON carries it, PostgreSQL's text cannot) in what filters look at and in a path: never a 500."""
    with serve_in_thread(MockConfig(db=postgres_url, strict=True, dispatch=False)) as mock:
        _nul_everywhere(mock)


def _nul_everywhere(live_mock: RunningMock) -> None:
    client = Client(live_mock.base_url)
    body = body_for("GOODWILL-POINTS")
    body["entityInfo"]["tillId"] = "till\u0000one"
    created = client.create("GOODWILL-POINTS", body)
    assert created.status_code == 200, created.text
    assert created.json()["data"]["requestId"]
    listed = client.list(tillId="till\u0000one")
    assert listed.status_code == 200, listed.text
    assert [d["requestId"] for d in listed.json()["data"]] == [created.json()["data"]["requestId"]]
    answer = requests.get(f"{live_mock.base_url}/api_gateway/no%00such", headers=auth("maker"), timeout=10)
    assert answer.status_code == 404, answer.text
    journal = requests.get(live_mock.base_url + "/__admin/journal", timeout=10)  # flushes this process's rows
    assert journal.status_code == 200, journal.text
    assert "/api_gateway/no\ufffdsuch" in [e["path"] for e in journal.json()["entries"]]
