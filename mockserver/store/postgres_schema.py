"""The PostgreSQL tables, created and migrated by the mock itself.

`schema_version` holds the version a database is at; `migrate` applies the steps above it in
order, each in the same transaction as its version bump, under an advisory lock, so replicas
starting together on one database migrate it once and a crash mid-step leaves the previous
version whole. A database at a version this mock does not know (written by a newer mock) is
refused rather than guessed at.

A document the mock answers with is kept as `text`, as written (`jsonb` would reorder its
keys); what filters look inside is `jsonb` beside it (`entity_info`, `customer`, a v1.1
request's `fields`), written with NUL made U+FFFD, which `jsonb` cannot hold.
"""
from __future__ import annotations

from typing import Any

from .base import FIRST_LEGACY_ID, StoreError

ADVISORY_LOCK = 4_010_2026  # any constant shared by every mock: pg_advisory_xact_lock key
LEGACY_SEQUENCE = "legacy_requests"

# Version 1: the tables as the SQLite store had them when PostgreSQL came (claims without
# expiry, v1.1 ids taken as MAX(id) + 1).
_V1 = """
CREATE TABLE requests (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id   text NOT NULL UNIQUE,
    org_id       bigint NOT NULL,
    url_type     text NOT NULL,
    state        text NOT NULL,
    maker_id     bigint NOT NULL,
    checker_id   bigint,
    start_time   text NOT NULL,
    end_time     text,
    entity_info  jsonb NOT NULL,
    document     text NOT NULL,
    claim        text
);
CREATE INDEX requests_by_org ON requests (org_id, seq);
CREATE TABLE events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    org_id       bigint NOT NULL,
    request_id   text NOT NULL,
    state        text NOT NULL,
    payload      text NOT NULL,
    created_at   text NOT NULL
);
CREATE INDEX events_by_request ON events (request_id, seq);
CREATE TABLE subscriptions (
    id           text PRIMARY KEY,
    url          text NOT NULL,
    headers      text NOT NULL,
    origin       text NOT NULL,
    created_seq  bigint NOT NULL DEFAULT 0
);
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq       bigint NOT NULL,
    event_id        text NOT NULL,
    request_id      text NOT NULL,
    subscription_id text NOT NULL,
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    next_at         double precision,
    delivered_at    double precision,
    history         text NOT NULL DEFAULT '[]',
    UNIQUE (event_seq, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_chain ON deliveries (subscription_id, request_id, event_seq);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE TABLE dispatcher_lease (
    name     text PRIMARY KEY,
    owner    text NOT NULL,
    expires  double precision NOT NULL
);
CREATE TABLE journal (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time         text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    query        text NOT NULL,
    headers      text NOT NULL,
    body         text,
    status       integer NOT NULL,
    duration_ms  double precision NOT NULL
);
CREATE TABLE faults (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    outcome      text NOT NULL,
    request_type text,
    status       integer,
    body         text,
    latency_ms   integer NOT NULL DEFAULT 0,
    remaining    integer NOT NULL
);
CREATE TABLE used_references (
    org_id       bigint NOT NULL,
    kind         text NOT NULL,
    value        text NOT NULL,
    PRIMARY KEY (org_id, kind, value)
);
CREATE TABLE legacy_requests (
    id           bigint PRIMARY KEY,
    org_id       bigint NOT NULL,
    type         text NOT NULL,
    base_type    text NOT NULL,
    status       text NOT NULL,
    customer     jsonb NOT NULL,
    added_by_id  bigint NOT NULL,
    requested_on text NOT NULL,
    record       text NOT NULL,
    fields       jsonb NOT NULL
);
CREATE INDEX legacy_requests_by_org ON legacy_requests (org_id, id);
CREATE TABLE legacy_logs (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       bigint NOT NULL,
    request_id   bigint NOT NULL,
    type         text NOT NULL,
    base_type    text NOT NULL,
    status       text NOT NULL,
    source       text NOT NULL,
    updated_on   text NOT NULL,
    entry        text NOT NULL
);
CREATE INDEX legacy_logs_by_org ON legacy_logs (org_id, seq);
"""

# Version 2: claims lapse (a dead replica's decision frees its request), and v1.1 ids come from a
# sequence row that every replica increments (MAX(id) + 1 hands one id to two replicas).
_V2 = f"""
ALTER TABLE requests ADD COLUMN claim_expires double precision;
UPDATE requests SET claim = NULL WHERE claim IS NOT NULL;
CREATE TABLE sequences (
    name         text PRIMARY KEY,
    last         bigint NOT NULL
);
INSERT INTO sequences (name, last)
    SELECT '{LEGACY_SEQUENCE}', COALESCE(MAX(id), {FIRST_LEGACY_ID - 1}) FROM legacy_requests;
"""

# Version 3: the journal keeps each answer's body too (a debugging aid; NULL for older rows).
_V3 = "ALTER TABLE journal ADD COLUMN response text;"
# The default list order (store/filters.py, request_order) read from an index, not sorted per page.
_V4 = 'CREATE INDEX requests_by_start ON requests (org_id, start_time COLLATE "C", seq);'

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2), (3, _V3), (4, _V4))
LATEST = MIGRATIONS[-1][0]

# What POST /__admin/reset empties (subscriptions other than the startup ones are removed too).
RESETTABLE = ("requests", "events", "deliveries", "journal", "faults", "used_references", "legacy_logs",
              "legacy_requests")


def migrate(conn: Any, up_to: int = LATEST) -> tuple[int, int]:
    """Bring the database to version `up_to`; (version found, version now). `conn` is in autocommit."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) AS version FROM schema_version").fetchone()
        found = row["version"] or 0
        if found > LATEST:
            raise StoreError(f"the database is at schema version {found}, newer than this mock knows ({LATEST}):"
                             " upgrade the mock, or point it at another database")
        for version, script in MIGRATIONS:
            if found < version <= up_to:
                conn.execute(script)  # one round trip: a script without parameters may hold many statements
        now = max(found, up_to)
        if now != found:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (now,))
    return found, now
