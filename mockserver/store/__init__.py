"""Where the mock keeps its state: `open_store(config)` is the one place a store is made.

- base.py: the protocol (operations in the mock's words, the records they return, the errors);
- sqlite.py (+ sqlite_schema.py): SQLite, a file shared by every process or `:memory:`;
- postgres.py (+ postgres_schema.py): PostgreSQL, one database shared by every replica.
All SQL of the mock lives in this package.
"""
from __future__ import annotations

from typing import Any

from .base import (CLAIM_TTL_S, READ_BUDGET, Attempt, Due, LegacyRow, ListQuery, LogQuery, Reader, ReadOverBudget,
                   RecordQuery, Store, StoredEvent, StoredRequest, StoreError, StoreFull, StoreUnavailable, Transaction)
from .sqlite import SqliteStore, process_local

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = ["CLAIM_TTL_S", "READ_BUDGET", "Attempt", "Due", "LegacyRow", "ListQuery", "LogQuery", "Reader",
           "ReadOverBudget", "RecordQuery", "Store",
           "StoredEvent", "StoredRequest", "StoreError", "StoreFull", "StoreUnavailable", "Transaction", "is_postgres",
           "open_store", "process_local"]


def open_store(config: Any) -> Store:
    """The store a `MockConfig` (or anything with a `db` location) names, its tables in place."""
    if is_postgres(config.db):
        from .postgres import PostgresStore  # psycopg is imported only where a PostgreSQL database is used
        return PostgresStore(config.db)
    return SqliteStore(config.db)


def is_postgres(location: str) -> bool:
    """A `postgresql://user:password@host:port/dbname` URL: a database every replica shares."""
    return location.startswith(POSTGRES_SCHEMES)
