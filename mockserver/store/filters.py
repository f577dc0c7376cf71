"""The WHERE and ORDER BY of the store's list queries, written once for both databases.

What a list filter means (which column, which comparison, the default order) is the mock's
rule and must not differ between SQLite and PostgreSQL; only how a value is marked and how a
JSON member is compared does. A store passes its `Dialect`; the functions below say the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .base import ListQuery, LogQuery, RecordQuery
from .rows import NULLABLE_SORT_COLUMNS, SORT_COLUMNS

# (column, key, value) -> (SQL with `?` marks, its arguments): JSON member `key` of `column` equals `value`.
MemberEquals = Callable[[str, str, Any], tuple[str, list[Any]]]
# (column, values) -> (SQL with `?` marks, its arguments): the column is one of the values.
OneOf = Callable[[str, tuple[Any, ...]], tuple[str, list[Any]]]


@dataclass(frozen=True)
class Dialect:
    """What differs between the databases in a filter: the argument mark, JSON members, sets, collation."""

    mark: str
    member_equals: MemberEquals
    one_of: OneOf
    binary_text: str = ""  # appended to a text column in ORDER BY so it sorts byte by byte


@dataclass
class Where:
    """Conditions joined by AND, with their arguments in order; SQL is written with `?` marks."""

    dialect: Dialect
    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, sql: str, *args: Any) -> "Where":
        self.conditions.append(sql.replace("?", self.dialect.mark))
        self.args.extend(args)
        return self

    def equal(self, column: str, value: Any) -> "Where":
        """`column = value`, or no condition when the filter was not given (None)."""
        return self if value is None else self.add(f"{column} = ?", value)

    def between(self, column: str, low: Any, high: Any) -> "Where":
        """`low <= column <= high`, each bound only when given."""
        if low is not None:
            self.add(f"{column} >= ?", low)
        if high is not None:
            self.add(f"{column} <= ?", high)
        return self

    def member(self, column: str, key: str, value: Any) -> "Where":
        sql, args = self.dialect.member_equals(column, key, value)
        return self.add(sql, *args)

    def one_of(self, column: str, values: tuple[Any, ...]) -> "Where":
        if not values:
            return self
        sql, args = self.dialect.one_of(column, values)
        return self.add(sql, *args)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) or "TRUE"


def request_filters(dialect: Dialect, q: ListQuery) -> Where:
    """GET .../requests: the org always; maker, states, type, entity members and start-date range when given."""
    where = Where(dialect).equal("org_id", q.org_id).equal("maker_id", q.maker_id).one_of("state", q.states)
    where.equal("url_type", q.url_type or None)
    for key, value in q.entity:
        where.member("entity_info", key, value)
    return where.between("substr(start_time, 1, 10)", q.start_date or None, q.end_date or None)


def request_order(dialect: Dialect, q: ListQuery) -> str:
    """The contract's order: by `sortBy` (startDate without one, so the newest first), then by insertion;
    requests without the column (no end yet) last. Only a nullable column gets the `IS NULL` term: on
    start_time it sorted nothing, yet kept the (org_id, start_time) index from giving the order, so
    each page sorted the whole organisation (14 ms a page at 20,000 requests, 0.04 ms without it)."""
    direction = "ASC" if q.sort_order == "asc" else "DESC"
    column = SORT_COLUMNS[q.sort_by or "startDate"]
    nulls_last = f"{column} IS NULL, " if column in NULLABLE_SORT_COLUMNS else ""
    return f"{nulls_last}{column}{dialect.binary_text} {direction}, seq {direction}"


def record_filters(dialect: Dialect, q: RecordQuery) -> Where:
    """GET /v1.1/request/get: the org; customer members, status, type, base type, date and id ranges."""
    where = Where(dialect).equal("org_id", q.org_id)
    for key, value in q.customer:
        where.member("customer", key, value)
    where.equal("status", q.status).equal("type", q.type).equal("base_type", q.base_type)
    return where.between("requested_on", q.start_date or None, q.end_date or None).between("id", q.start_id, q.end_id)


def log_filters(dialect: Dialect, q: LogQuery) -> Where:
    """GET /v1.1/request/logs over `legacy_logs l JOIN legacy_requests r`: type, base type and dates always."""
    where = Where(dialect).equal("l.org_id", q.org_id).equal("l.type", q.type).equal("l.base_type", q.base_type)
    where.between("l.updated_on", q.start_date, q.end_date).equal("l.status", q.status).equal("l.source", q.source)
    if q.mobile is not None:
        where.member("r.customer", "mobile", q.mobile)
    return where
