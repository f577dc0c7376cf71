"""A page of GET .../requests in the default order (newest first) is read from an index in both
databases, never by sorting the organisation's every request for each page; the order itself is
tested through the API (test_mock_lists and friends)."""
from __future__ import annotations

import sqlite3

import psycopg
import pytest

from mockserver.config import MockConfig
from mockserver.store import ListQuery, open_store
from mockserver.store.filters import request_filters, request_order
from mockserver.store.postgres import POSTGRES
from mockserver.store.sqlite import SQLITE


def _page_sql(dialect, q: ListQuery) -> tuple[str, list]:
    where = request_filters(dialect, q)
    return f"SELECT seq FROM requests WHERE {where.sql} ORDER BY {request_order(dialect, q)} LIMIT 10", where.args


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_sqlite_reads_a_page_in_start_order_from_an_index(tmp_path, order: str) -> None:
    open_store(MockConfig(db=str(tmp_path / "state.db"))).close()  # the schema, as the mock makes it
    sql, args = _page_sql(SQLITE, ListQuery(org_id=51250, sort_order=order))
    with sqlite3.connect(tmp_path / "state.db") as conn:
        plan = " / ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "requests_by_start" in plan and "TEMP B-TREE" not in plan, plan


def test_sqlite_requests_carry_only_the_indexes_lists_use(tmp_path) -> None:
    """Each index is one more B-tree every create writes: a file made before (org_id, seq) was dropped
    loses it when opened, and an organisation's lists and counts still search (org_id, start_time)."""
    db = tmp_path / "state.db"
    open_store(MockConfig(db=str(db))).close()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE INDEX requests_by_org ON requests (org_id, seq)")  # as older files have it
    open_store(MockConfig(db=str(db))).close()
    where = request_filters(SQLITE, ListQuery(org_id=51250, states=("AdminTask",)))
    with sqlite3.connect(db) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(requests)")}
        plan = " ".join(row[-1] for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM requests WHERE {where.sql}", where.args))
    assert indexes == {"requests_by_start", "sqlite_autoindex_requests_1"}, indexes
    assert "requests_by_start (org_id=?)" in plan, plan


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_postgresql_reads_a_page_in_start_order_from_an_index(postgres_url, order: str) -> None:
    open_store(MockConfig(db=postgres_url)).close()
    sql, args = _page_sql(POSTGRES, ListQuery(org_id=51250, sort_order=order))
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET enable_seqscan = off")  # an empty table is cheaper to sort: ask for the index
        plan = " / ".join(row[0] for row in conn.execute("EXPLAIN " + sql, args))
    assert "requests_by_start" in plan and "Sort" not in plan, plan


def test_a_nullable_sort_column_still_puts_requests_without_it_last() -> None:
    assert request_order(SQLITE, ListQuery(org_id=1, sort_by="endDate")).startswith("end_time IS NULL, ")
