"""The legacy v1.1 request API (add / approve / reject / get / logs) over the mock's store.

validation.py has checked credentials, permissions, the query and the batch envelope; here
each batch item is checked against its own item schema, so a bad item fails alone with the
code the spec ties to the field, and the rest of the batch goes on. A batch is one
transaction. Known coupon series (9017 otherwise): the ids in `MockConfig.coupon_series` or
$MOCKSERVER_COUPON_SERIES (comma-separated) when set, else any 6-digit id starting with 9
(like the seed's "981965").
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, g

from capillary_contract.loader import Contract, SchemaValidator, Violation, load_contract
from capillary_contract.users import DEFAULT_ORG

from .identity import DEFAULT_USERS, User
from .config import MockConfig, zone_of
from .state import mock_state
from .store import LogQuery, RecordQuery, Store, Transaction

bp = Blueprint("legacy", __name__)
ITEM_SCHEMAS = {"add": "LegacyAddItem", "approve": "LegacyApproveItem", "reject": "LegacyRejectItem"}
SUCCESS_WORDS = {"add": "added", "approve": "updated", "reject": "updated"}
SERIES_ENV = "MOCKSERVER_COUPON_SERIES"
DEFAULT_SERIES = re.compile(r"9[0-9]{5}")
CUSTOMER_FILTERS = ("mobile", "email", "external_id", "id", "card_number", "card_external_id")
PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
RETRO = "RETRO"
SOURCE = "API"
MAX_ID = 2**63 - 1
# Item codes of rules the schemas cannot say (their messages come from the spec).
INTERNAL, NO_TARGET, FUTURE, INVALID_VALUE, UNKNOWN_SERIES = 9009, 9007, 9021, 9024, 9017
DUPLICATE, SAME_VALUE, NOT_FOUND, NOT_PENDING, SELF_DECISION, ALREADY_RETRO = 9028, 9031, 9050, 9052, 9056, 1627
VALUE_TAKEN = {"MOBILE": 9005, "EMAIL": 9002, "EXTERNAL_ID": 9003}


def init_app(app: Flask) -> None:
    """Plug the v1.1 API into a mock (its tables are the store's, emptied by /__admin/reset)."""
    app.register_blueprint(bp)


# -- what the spec says about items and answers --------------------------------------------
@dataclass(frozen=True)
class Vocabulary:
    """Statuses, messages and field lists of the v1.1 schemas, read from the contract once."""

    batch: dict[int, dict[str, Any]]
    ok_code: int
    ok_messages: dict[str, str]
    errors: dict[int, str]
    customer_keys: tuple[str, ...]
    record_keys: tuple[str, ...]
    validators: dict[str, SchemaValidator]
    refusal_statuses: dict[int, int]  # item code -> HTTP status of a batch refused for it (`x-batch-status`)
    ranks: dict[str, dict[str, int]]
    own_codes: dict[str, dict[str, tuple[Any, ...]]]

    def item_code(self, verb: str, item: Any) -> int | None:
        """None when the item fits its schema, else the code of its most telling violation:
        required fields first (in the schema's order), then the item as a whole, then the rest;
        on one field, the code of the field's own schema before a pairing rule's."""
        found = self.validators[verb].violations(item)
        if not found:
            return None
        best = min(found, key=lambda v: self._rank(verb, v))
        return best.code if best.code in self.errors else INTERNAL

    def _rank(self, verb: str, v: Violation) -> tuple[int, int, str]:
        name = v.field.strip("/").split("/")[0]
        ranks = self.ranks[verb]
        own = self.own_codes[verb].get(name, ())
        return ranks.get(name, len(ranks)), 0 if v.code in own else 1, v.field

    def item_status(self, verb: str, code: int | None = None) -> dict[str, Any]:
        if code is None:
            return {"success": "true", "code": self.ok_code, "message": self.ok_messages[verb]}
        return {"success": "false", "code": code, "message": self.errors[code]}


@functools.lru_cache(maxsize=4)
def vocabulary(contract: Contract) -> Vocabulary:
    schemas = contract.components["schemas"]
    batch = [*schemas["LegacyBatchStatus"]["oneOf"],
             *schemas["LegacyFailureResponse"]["properties"]["response"]["properties"]["status"]["oneOf"]]
    statuses = {b["properties"]["code"]["const"]: {k: b["properties"][k]["const"] for k in ("success", "code", "message")}
                for b in batch}
    ok = schemas["LegacyItemStatus"]["oneOf"][0]["properties"]
    messages = {verb: next(m for m in ok["message"]["enum"] if word in m) for verb, word in SUCCESS_WORDS.items()}
    ranks, own = {}, {}
    for verb, name in ITEM_SCHEMAS.items():
        schema = schemas[name]
        ranks[verb] = {field: i for i, field in enumerate([*schema["required"], ""])}
        own[verb] = {field: tuple(contract.resolve(prop).get(k) for k in ("x-capillary-error", "x-capillary-missing-error"))
                     for field, prop in schema["properties"].items()}
    return Vocabulary(
        batch=statuses, ok_code=ok["code"]["const"], ok_messages=messages, errors=contract.legacy_item_errors,
        customer_keys=tuple(schemas["LegacyCustomer"]["properties"]), record_keys=tuple(schemas["LegacyRecord"]["properties"]),
        validators={verb: contract.component_validator(name) for verb, name in ITEM_SCHEMAS.items()},
        refusal_statuses={b["properties"]["code"]["const"]: b["x-batch-status"]
                          for b in schemas["LegacyItemFailure"]["oneOf"] if "x-batch-status" in b},
        ranks=ranks, own_codes=own)


# -- a batch -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One item's answer, whether it went through, and the HTTP status its refusal stands for."""

    ok: bool
    answer: dict[str, Any]
    refusal: int = 400


@dataclass(frozen=True)
class Batch:
    """Who runs the batch, in which org, when, with which vocabulary."""

    words: Vocabulary
    user: User
    org_id: int
    now: str
    series_known: Any

    def done(self, verb: str, answer: dict[str, Any]) -> Item:
        return Item(True, {**answer, "item_status": self.words.item_status(verb)})

    def malformed(self, verb: str, answer: dict[str, Any], code: int) -> Item:
        """An item its schema refuses."""
        return Item(False, {**answer, "item_status": self.words.item_status(verb, code)}, 400)

    def failed(self, verb: str, answer: dict[str, Any], code: int) -> Item:
        """A well-formed item refused for what is stored (or not): the code's `x-batch-status`."""
        return Item(False, {**answer, "item_status": self.words.item_status(verb, code)},
                    self.words.refusal_statuses.get(code, 400))


def _batch() -> Batch:
    state, checked = mock_state(), g.checked
    return Batch(vocabulary(state.contract), checked.user, checked.user.org_id, now(state.config.timezone),
                 functools.partial(series_known, state.config))


def _answer(batch: Batch, results: list[Item]) -> Any:
    """200 "Success", 200 with 201 when some items failed, and 500 when all did: then HTTP 400 if
    an item is malformed, else the status of the first item's refusal (404, 409, 403), so a
    client tells "valid, but refused for a reason" from "invalid"."""
    failed = [r for r in results if not r.ok]
    code = 500 if len(failed) == len(results) else 201 if failed else 200
    body = {"response": {"status": batch.words.batch[code], "requests": {"request": [r.answer for r in results]}}}
    if code != 500:
        return body
    return body, 400 if any(r.refusal == 400 for r in failed) else failed[0].refusal


def now(zone: str = MockConfig.timezone) -> str:
    """Time as v1.1 writes it (`LegacyDate`), in the mock's zone (`--timezone`)."""
    return datetime.now(zone_of(zone)).strftime("%Y-%m-%d %H:%M:%S")


def series_known(config: Any, series: str) -> bool:
    listed = getattr(config, "coupon_series", None) or os.environ.get(SERIES_ENV)
    if listed:
        ids = listed.split(",") if isinstance(listed, str) else listed
        return series in {str(s).strip() for s in ids}
    return DEFAULT_SERIES.fullmatch(series) is not None


def _text(value: Any) -> str | None:
    """A value the answers can echo as text (strings and integers; never booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _echo(item: Any, keys: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(item, dict):
        return {}
    return {k: t for k in keys if (t := _text(item.get(k))) is not None}


def _log(tx: Transaction, batch: Batch, record: dict[str, Any], old_status: str | None, comments: str) -> None:
    entry = {"request_id": record["id"], "type": record["type"], "base_type": record["base_type"]}
    if old_status:
        entry["old_status"] = old_status
    entry.update(status=record["status"], updated_on=batch.now, updated_by=batch.user.username,
                 updated_comments=comments, source=SOURCE)
    tx.legacy_add_log(batch.org_id, entry)


# -- add -----------------------------------------------------------------------------------
@bp.post("/v1.1/request/add", endpoint="addLegacyRequests")
def add_requests() -> Any:
    batch, checked = _batch(), g.checked
    auto = bool(checked.params.get("client_auto_approve"))
    with mock_state().store.transaction() as tx:
        results = [_add_one(tx, batch, item, auto) for item in checked.body["root"]["request"]]
    return _answer(batch, results)


def _add_one(tx: Transaction, batch: Batch, item: Any, auto: bool) -> Item:
    words = batch.words
    echo = _echo(item, ("reference_id", "type", "base_type"))
    customer = _echo(item, words.customer_keys)
    if customer:
        echo["customer"] = customer
    code = words.item_code("add", item)
    if code is not None:
        return batch.malformed("add", echo, code)
    record = _new_record(batch, item, customer)
    code = _add_problem(tx, batch, record)
    if code is None and auto:
        code = _approval_problem(tx, batch, record, {})
    if code is not None:
        return batch.failed("add", echo, code)
    record["id"] = str(tx.next_legacy_id())
    tx.legacy_insert(batch.org_id, batch.user.user_id, record)
    _log(tx, batch, record, None, record.get("comments", ""))
    if auto:
        record = _decided(batch, record, "approve", {})
        tx.legacy_update(record)
        _log(tx, batch, record, PENDING, "")
    answer = {k: record[k] for k in ("reference_id", "id", "type", "base_type", "status", "customer") if k in record}
    return batch.done("add", answer)


def _new_record(batch: Batch, item: dict[str, Any], customer: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "", "type": item["type"], "base_type": item["base_type"], "status": PENDING,
                              "customer": customer}
    for key in ("reference_id", "old_value", "new_value", "points", "series_id", "transaction_id", "old_type",
                "new_type", "comments"):
        if (value := _text(item.get(key))) is not None:
            record[key] = value
    record["reason"] = item.get("reason", "")
    if "target_customer" in item:
        record["target_customer"] = item["target_customer"]
    record["requested_on"] = _full_time(item.get("requested_on")) or batch.now
    record["added_by"] = batch.user.username
    return record


def _full_time(value: str | None, end_of_day: bool = False) -> str | None:
    if not value or len(value) > 10:
        return value
    return f"{value} {'23:59:59' if end_of_day else '00:00:00'}"


def _add_problem(tx: Transaction, batch: Batch, record: dict[str, Any]) -> int | None:
    """Rules an add must pass beyond its schema."""
    org, kind, base = batch.org_id, record["type"], record["base_type"]
    if record["requested_on"] > batch.now:
        return FUTURE
    if base in VALUE_TAKEN and record.get("old_value") == record["new_value"]:
        return SAME_VALUE
    if (code := _already_done(tx, batch, record)) is not None:
        return code
    if base in VALUE_TAKEN and tx.legacy_exists(org, PENDING, record["customer"], type=kind, base_type=base,
                                             new_value=record["new_value"]):
        return DUPLICATE
    if base == "MERGE" and not record.get("target_customer"):
        return NO_TARGET
    if base == RETRO and tx.legacy_exists(org, PENDING, type=kind, base_type=base,
                                       transaction_id=record.get("transaction_id")):
        return DUPLICATE
    if "series_id" in record and not batch.series_known(record["series_id"]):
        return UNKNOWN_SERIES
    return None


# -- approve / reject ----------------------------------------------------------------------
@bp.post("/v1.1/request/approve", endpoint="approveLegacyRequests")
def approve_requests() -> Any:
    return _decide("approve")


@bp.post("/v1.1/request/reject", endpoint="rejectLegacyRequests")
def reject_requests() -> Any:
    return _decide("reject")


def _decide(verb: str) -> Any:
    batch = _batch()
    with mock_state().store.transaction() as tx:
        results = [_decide_one(tx, batch, verb, item) for item in g.checked.body["root"]["request"]]
    return _answer(batch, results)


def _decide_one(tx: Transaction, batch: Batch, verb: str, item: Any) -> Item:
    echo = _echo(item, ("id", "type", "base_type"))
    code = batch.words.item_code(verb, item)
    if code is not None:
        return batch.malformed(verb, echo, code)
    request_id = int(item["id"])
    row = tx.legacy_get(batch.org_id, request_id) if request_id <= MAX_ID else None
    if row is None or (row.record["type"], row.record["base_type"]) != (item["type"], item["base_type"]):
        return batch.failed(verb, echo, NOT_FOUND)
    if row.status != PENDING:
        return batch.failed(verb, echo, NOT_PENDING)
    if row.added_by_id == batch.user.user_id:
        return batch.failed(verb, echo, SELF_DECISION)
    if verb == "approve" and (code := _approval_problem(tx, batch, row.record, item)) is not None:
        return batch.failed(verb, echo, code)
    record = _decided(batch, row.record, verb, item)
    tx.legacy_update(record)
    _log(tx, batch, record, PENDING, record["updated_comments"])
    return batch.done(verb, _decision_answer(record))


def _granted(record: dict[str, Any], item: dict[str, Any]) -> str | None:
    """What a goodwill approval gives: the points, or the coupon series."""
    key = "points" if record["base_type"] == "POINTS" else "series_id"
    return _text(item.get(key)) or record.get(key)


def _approval_problem(tx: Transaction, batch: Batch, record: dict[str, Any], item: dict[str, Any]) -> int | None:
    """Rules an approval must pass beyond its schema (also run by `client_auto_approve`)."""
    kind, base = record["type"], record["base_type"]
    if kind == "GOODWILL":
        granted = _granted(record, item)
        if base == "POINTS":
            return None if granted else INVALID_VALUE
        return None if granted and batch.series_known(granted) else UNKNOWN_SERIES
    return _already_done(tx, batch, record)


def _already_done(tx: Transaction, batch: Batch, record: dict[str, Any]) -> int | None:
    """An approved request already gave someone this new identifier, or marked this transaction retro."""
    kind, base = record["type"], record["base_type"]
    if base in VALUE_TAKEN and tx.legacy_exists(batch.org_id, APPROVED, type=kind, base_type=base,
                                             new_value=record["new_value"]):
        return VALUE_TAKEN[base]
    if base == RETRO and tx.legacy_exists(batch.org_id, APPROVED, type=kind, base_type=base,
                                       transaction_id=record.get("transaction_id")):
        return ALREADY_RETRO
    return None


def _decided(batch: Batch, record: dict[str, Any], verb: str, item: dict[str, Any]) -> dict[str, Any]:
    out = {**record, "status": APPROVED if verb == "approve" else REJECTED}
    if verb == "reject":
        out.update(approved_value="", assoc_id="-1")
    elif record["type"] == "GOODWILL":
        out.update(approved_value=_granted(record, item), assoc_id="0")
    out.update(updated_comments=item.get("updated_comments", ""), updated_on=batch.now,
               updated_by=batch.user.username)
    return out


def _decision_answer(record: dict[str, Any]) -> dict[str, Any]:
    """As the seed shows it: goodwill and rejections carry approved_value and assoc_id,
    identifier changes their old and new values."""
    values = ("approved_value", "assoc_id") if "assoc_id" in record else ("old_value", "new_value")
    keys = ("id", "type", "base_type", "status", *values, "reason", "updated_comments")
    return {k: record[k] for k in keys if k in record}


# -- reads ---------------------------------------------------------------------------------
@bp.get("/v1.1/request/get", endpoint="getLegacyRequests")
def get_requests() -> Any:
    state, checked = mock_state(), g.checked
    p, words = checked.params, vocabulary(state.contract)
    query = RecordQuery(
        org_id=checked.user.org_id, customer=tuple((k, p[k]) for k in CUSTOMER_FILTERS if k in p),
        status=p.get("status"), type=p.get("type"), base_type=p.get("base_type"),
        start_date=_full_time(p.get("start_date")), end_date=_full_time(p.get("end_date"), end_of_day=True),
        start_id=p.get("start_id"), end_id=p.get("end_id"), limit=p.get("limit", 50))
    with state.store.read() as reader:
        found = reader.legacy_find(query)
    records = [{k: r[k] for k in words.record_keys if k in r} for r in found]
    return {"response": {"status": words.batch[200], "requests": {"count": len(records), "request": records}}}


@bp.get("/v1.1/request/logs", endpoint="getLegacyRequestLogs")
def get_logs() -> Any:
    state, checked = mock_state(), g.checked
    p = checked.params
    query = LogQuery(
        org_id=checked.user.org_id, type=p["type"], base_type=p["base_type"],
        start_date=_full_time(p["start_date"]), end_date=_full_time(p["end_date"], end_of_day=True),
        status=p.get("status"), source=p.get("source"), mobile=p.get("mobile"),
        limit=p.get("limit", 50), offset=p.get("offset", 0))
    with state.store.read() as reader:
        entries = reader.legacy_logs(query)
    status = vocabulary(state.contract).batch[200]
    return {"response": {"status": status, "logs": {"count": len(entries), "log": entries}}}


# -- the seed's requests -------------------------------------------------------------------
def preload_seed_requests(store: Store, contract: Contract | None = None, org_id: int = DEFAULT_ORG,
                          maker: User | None = None, zone: str = MockConfig.timezone) -> list[str]:
    """Put in place, PENDING and added by `maker`, the requests that the spec's seed approvals
    (`x-seed` examples of approveLegacyRequests) decide, so approving them with those bodies
    answers exactly the seed's responses. Idempotent (every worker may run it at start-up): an
    id already stored is left as it is. The customer is the one the add examples name for the
    same type. Returns the ids it stored."""
    contract = contract or load_contract()
    maker = maker or next(u for u in DEFAULT_USERS if u.username == "maker")
    op = contract.operations["approveLegacyRequests"].raw
    asks = op["requestBody"]["content"]["application/json"]["examples"]
    answers = op["responses"]["200"]["content"]["application/json"]["examples"]
    adds = contract.operations["addLegacyRequests"].raw["requestBody"]["content"]["application/json"]["examples"]
    added = [item for ex in adds.values() for item in ex["value"]["root"]["request"]]
    keys = vocabulary(contract).customer_keys
    batch = Batch(vocabulary(contract), maker, org_id, now(zone), None)
    ids = []
    with store.transaction() as tx:
        for name, ask in asks.items():
            if not ask.get("x-seed") or name not in answers:
                continue
            item = ask["value"]["root"]["request"][0]
            answer = answers[name]["value"]["response"]["requests"]["request"][0]
            like = next((a for a in added if (a["type"], a["base_type"]) == (item["type"], item["base_type"])), added[0])
            record = {"id": str(item["id"]), "type": item["type"], "base_type": item["base_type"], "status": PENDING,
                      "customer": _echo(like, keys)}
            record.update({k: answer[k] for k in ("old_value", "new_value") if k in answer})
            if "points" in item:
                record["points"] = str(item["points"])
            record.update(reason=answer.get("reason", ""), requested_on=batch.now, added_by=maker.username)
            if tx.legacy_insert(org_id, maker.user_id, record, if_missing=True):
                _log(tx, batch, record, None, "")
                ids.append(record["id"])
    return ids
