"""Where the mock keeps its state: `open_store(config)` is the one place a store is made.

- base.py: the protocol (operations in the mock's words, the records they return, the errors);
- sqlite.py (+ sqlite_schema.py): SQLite, a file shared by every process or `:memory:`.
All SQL of the mock lives in this package.
"""
from __future__ import annotations

from typing import Any

from .base import (CLAIM_TTL_S, Attempt, Due, LegacyRow, ListQuery, LogQuery, Reader, RecordQuery, Store, StoredEvent,
                   StoredRequest, StoreError, StoreFull, StoreUnavailable, Transaction)
from .sqlite import SqliteStore, process_local

__all__ = ["CLAIM_TTL_S", "Attempt", "Due", "LegacyRow", "ListQuery", "LogQuery", "Reader", "RecordQuery", "Store",
           "StoredEvent", "StoredRequest", "StoreError", "StoreFull", "StoreUnavailable", "Transaction", "open_store",
           "process_local"]


def open_store(config: Any) -> Store:
    """The store a `MockConfig` (or anything with a `db` location) names, its tables in place."""
    return SqliteStore(config.db)
