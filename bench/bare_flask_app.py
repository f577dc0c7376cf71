"""The smallest Flask app: bench_mock.py times its start-up under gunicorn beside the mock's, as the
floor any Flask-based mock starts from on the same machine (importing Flask is most of it), and
floor_server.py serves its create route to give the floor of create throughput: the JSON read and
answered, and with BARE_FLASK_DB set, one SQLite write per create as a durable mock must at least do."""
import fcntl
import json
import os
import sqlite3
import uuid

from flask import Flask, request

app = Flask(__name__)
DB = os.environ.get("BARE_FLASK_DB")
_open: dict[int, tuple[sqlite3.Connection, object]] = {}  # per process: each forked server opens its own


@app.get("/__admin/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api_gateway/v2/request-workflow/<request_type>")
def create(request_type: str) -> dict[str, object]:
    body = request.get_json()
    request_id = str(uuid.uuid4())
    if DB:
        conn, lock = _store()
        fcntl.flock(lock, fcntl.LOCK_EX)  # one writer at a time across processes, as the mock's store does
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO requests VALUES (?, ?, ?)", (request_id, request_type, json.dumps(body)))
            conn.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {"createdId": request_id, "data": {"requestId": request_id, "status": "AdminTask"}, "errors": []}


def _store() -> tuple[sqlite3.Connection, object]:
    if os.getpid() not in _open:
        conn = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, type TEXT, body TEXT)")
        _open[os.getpid()] = (conn, open(DB + ".lock", "a+b"))
    return _open[os.getpid()]
