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
