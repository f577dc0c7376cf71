"""The store's protocol: the operations the mock needs from its database, in the mock's words.

Callers never see SQL, rows or connections. They open a session with `store.transaction()`
(one atomic write) or `store.read()` (one consistent snapshot) and call operations on it;
records come back as the dataclasses below, JSON already decoded. Single-winner rules live in
the operations themselves: a claim or a finish is a conditional update that says whether it
won, and v1.1 ids come from a sequence, so they hold for many processes or servers on one
database whatever lock an implementation adds for speed.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

FIRST_LEGACY_ID = 32600001  # v1.1 ids are longs around 32 million, as Capillary's
CLAIM_TTL_S = 5.0           # a claim its owner stopped renewing (a dead worker) lapses after this


class StoreError(Exception):
    """The database cannot do what was asked; the message says why, for an operator."""


class StoreUnavailable(StoreError):
    """The database is gone, replaced, closed or refuses to answer: 503."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: 507 until space returns."""


class ReadOverBudget(Exception):
    """A read ran past the `READ_BUDGET` of its context and was stopped; it changed nothing, so its
    request can be run again from the start where it may take as long as it needs (waiting.py)."""


# How long one `store.read()` may run, in seconds of its thread's CPU time, for the reads of this
# context (None: no limit). A store whose reads cannot hold a request's event loop may ignore it
# (PostgreSQL's requests all run in threads). A write transaction lifts it for the rest of the
# context: a request that has written must finish where it is, never be run again.
READ_BUDGET: contextvars.ContextVar[float | None] = contextvars.ContextVar("mockserver_read_budget", default=None)


# -- records ----------------------------------------------------------------------------
@dataclass
class StoredRequest:
    """One v2 request; `claimed`: a decision on it is under way (a live, unexpired claim)."""

    request_id: str
    org_id: int
    url_type: str
    state: str
    maker_id: int
    claimed: bool
    document: dict[str, Any]
    entity_info: dict[str, Any]


@dataclass(frozen=True)
class ListQuery:
    """The filters, sort and page of GET .../requests."""

    org_id: int
    maker_id: int | None = None
    states: tuple[str, ...] = ()
    url_type: str | None = None
    entity: tuple[tuple[str, str], ...] = ()
    start_date: str | None = None
    end_date: str | None = None
    sort_by: str | None = None   # startDate | endDate
    sort_order: str = "desc"
    limit: int = 10
    page: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """One outbox entry: the `requestWorkflowEvent` as sent, and where it sits."""

    event_id: str
    request_id: str
    state: str
    created_at: str
    event: dict[str, Any]


@dataclass(frozen=True)
class Due:
    """A delivery to try now, with what sending it needs."""

    id: int
    event_id: str
    subscription_id: str
    attempts: int
    url: str
    headers: dict[str, str]
    payload: bytes


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery."""

    at: float                  # epoch seconds when the try started
    status: int | None         # the receiver's HTTP status; None when it could not be reached
    error: str | None
    duration_ms: float
    final: bool = False        # could never succeed however often tried (a malformed URL...)


@dataclass
class LegacyRow:
    """One stored v1.1 request: `record` holds the `LegacyRecord` fields (status and id included)."""

    id: int
    org_id: int
    added_by_id: int
    record: dict[str, Any]

    @property
    def status(self) -> str:
        return self.record["status"]


@dataclass(frozen=True)
class RecordQuery:
    """The filters of GET /v1.1/request/get (dates already widened to whole seconds)."""

    org_id: int
    customer: tuple[tuple[str, str], ...] = ()
    status: str | None = None
    type: str | None = None
    base_type: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    start_id: int | None = None
    end_id: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class LogQuery:
    """The filters of GET /v1.1/request/logs."""

    org_id: int
    type: str
    base_type: str
    start_date: str
    end_date: str
    status: str | None = None
    source: str | None = None
    mobile: str | None = None
    limit: int = 50
    offset: int = 0


def startup_subscription_id(url: str, headers: dict[str, str]) -> str:
    """The same `--webhook` flag gives the same id at every start, so restarts keep its pending deliveries."""
    key = json.dumps([url, sorted(headers.items())], separators=(",", ":"))
    return "startup-" + hashlib.sha256(key.encode()).hexdigest()[:12]


# -- the protocol -------------------------------------------------------------------------
class Reader(Protocol):
    """Operations on a consistent snapshot."""

    # v2 requests
    def get_request(self, org_id: int, request_id: str) -> StoredRequest | None: ...
    def list_requests(self, q: ListQuery) -> tuple[list[dict[str, Any]], dict[str, int]]: ...
    def count_requests(self) -> int: ...
    def reference_used(self, org_id: int, kind: str, value: str) -> bool: ...
    # the outbox
    def list_events(self, request_id: str | None = None) -> list[StoredEvent]: ...
    def deliveries_by_event(self, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]: ...
    def settled(self, wait_for: str, request_id: str | None) -> bool: ...
    def due_deliveries(self, now: float, busy: Iterable[int], limit: int) -> list[Due]: ...
    def next_due_at(self, busy: Iterable[int]) -> float | None: ...
    def lease_holder(self) -> tuple[str, float] | None: ...
    def backlog(self) -> tuple[int, float | None]: ...
    # admin
    def list_faults(self) -> list[dict[str, Any]]: ...
    def list_subscriptions(self) -> list[dict[str, Any]]: ...
    def list_journal(self, limit: int, path_prefix: str | None) -> list[dict[str, Any]]: ...
    # v1.1
    def legacy_get(self, org_id: int, request_id: int) -> LegacyRow | None: ...
    def legacy_exists(self, org_id: int, status: str, customer: dict[str, str] | None = None,
                      **fields: str) -> bool: ...
    def legacy_find(self, q: RecordQuery) -> list[dict[str, Any]]: ...
    def legacy_logs(self, q: LogQuery) -> list[dict[str, Any]]: ...


class Transaction(Reader, Protocol):
    """Operations of one atomic write; all or nothing of them is committed."""

    # v2 requests: a caller writes each state change and `publish`es its event in one transaction
    def create_request(self, org_id: int, url_type: str, document: dict[str, Any], entity_info: dict[str, Any],
                       checker_id: int | None = None, if_missing: bool = False) -> bool: ...
    def claim_decision(self, request_id: str, ttl_s: float = CLAIM_TTL_S) -> str | None: ...
    def renew_claims(self, tokens: Iterable[str], ttl_s: float = CLAIM_TTL_S) -> None: ...
    def release_claim(self, request_id: str, token: str) -> None: ...
    def finish_decision(self, request_id: str, token: str | None, document: dict[str, Any],
                        checker_id: int) -> bool: ...
    def remember_reference(self, org_id: int, kind: str, value: str) -> None: ...
    # the outbox
    def publish(self, event: dict[str, Any], created_at: str) -> int: ...
    def record_attempt(self, delivery_id: int, attempt: Attempt, state: str, retry_in_s: float | None) -> None: ...
    def take_lease(self, owner: str, now: float, ttl_s: float) -> bool: ...
    def release_lease(self, owner: str) -> None: ...
    # admin
    def add_fault(self, fault: dict[str, Any]) -> dict[str, Any]: ...
    def take_fault(self, url_type: str) -> dict[str, Any] | None: ...
    def clear_faults(self) -> None: ...
    def add_subscription(self, url: str, headers: dict[str, str]) -> dict[str, Any]: ...
    def remove_subscription(self, subscription_id: str) -> dict[str, Any] | None: ...
    def sync_startup_subscriptions(self, subscriptions: Iterable[tuple[str, dict[str, str]]]) -> None: ...
    def add_journal_entries(self, entries: Iterable[dict[str, Any]]) -> None: ...
    # v1.1
    def next_legacy_id(self) -> int: ...
    def legacy_insert(self, org_id: int, added_by_id: int, record: dict[str, Any], if_missing: bool = False) -> bool: ...
    def legacy_update(self, record: dict[str, Any]) -> None: ...
    def legacy_add_log(self, org_id: int, entry: dict[str, Any]) -> None: ...


class StoreLifecycle:
    """What every store does around its own connections: hooks at reset and close, and `closed`.

    A subclass implements `transaction()` and `_release()` (drop its connections); the order of
    the hooks (journal rows flushed or discarded first) is the same on every database."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self.on_reset: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def reset(self, keep_startup_subscriptions: bool = True) -> None:
        """Empty every table but the startup subscriptions (POST /__admin/reset), for every process on it."""
        for hook in self.on_reset:
            hook()
        with self.transaction() as session:  # type: ignore[attr-defined]
            session.reset(keep_startup_subscriptions)

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        self.on_close = []
        self._closed.set()
        self._release()

    def _release(self) -> None:
        raise NotImplementedError


class Store(Protocol):
    """A database the mock keeps all its state in."""

    location: str
    closed: bool
    on_reset: list[Callable[[], None]]   # run before a reset empties the tables (e.g. buffered journal rows)
    on_close: list[Callable[[], None]]   # run before the store closes
    waits_on_network: bool               # its queries are round trips to a server (the front's waiting.py)

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...
    def read(self) -> contextlib.AbstractContextManager[Reader]: ...
    def reset(self, keep_startup_subscriptions: bool = True) -> None: ...
    def close(self) -> None: ...
