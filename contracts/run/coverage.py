"""What a run exercised, against what the contract documents, in four dimensions:

    statuses     every (operation, documented status) of the workflow and legacy APIs
    errors       every documented error code: the v2 catalogue, v1.1 item codes, wrapped-call codes
    transitions  per request type, the lifecycle table: state x action x role -> resulting state
                 (the allowed transitions of `capillary_contract.lifecycle`, the failed branch of the
                 wrapped call, and the documented refusals: deciding again 409, no permission 403)
    events       per request type, the state changes a `requestWorkflowEvent` announces (with
                 --webhook-listen only)

Every denominator comes from openapi.yaml and capillary_contract; nothing here lists a status, a code
or a type (a refusal's status is the one the contract documents for its code: 2001 no permission,
2002 already decided). The counts come from the exchanges themselves (a `requests` response hook on every
session of the run), so the fuzzer, the machine, the probes and the flows are counted alike, and
what the suite believes it did never stands in for what the target answered.
"""
from __future__ import annotations

import copy
import functools
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from capillary_contract import lifecycle
from capillary_contract.catalogue import codes_in, status_by_code
from capillary_contract.http import TOKEN_HEADER
from capillary_contract.loader import Contract

PHASE = "coverage"  # the phase the --min-coverage gate's findings and test cases are reported under
STATUSES, ERRORS, TRANSITIONS, EVENTS = "statuses", "errors", "transitions", "events"
DIMENSIONS = (STATUSES, ERRORS, TRANSITIONS, EVENTS)
COVERED_TAGS = ("workflow", "legacy")  # the admin API is the mock's, not Capillary's contract
UNPROVOKABLE = "x-unprovokable"  # a documented answer no request can provoke (openapi.yaml responses)

# Roles of the lifecycle table. A decision's role is judged from who sent it and who raised the request.
MAKER, CHECKER, OWN_MAKER, NO_PERMISSION, TRUSTED = (
    "maker", "checker", "its maker", "no permission", "trusted integration")
DECIDE = "decide"  # either decision, where the answer does not depend on which
# The cast's identities (contracts/run/identities.py) by the role they play in the table.
ROLE_OF_IDENTITY = {"maker": MAKER, "supervisor": MAKER, "checker": CHECKER, "viewer": NO_PERMISSION,
                    "integration": TRUSTED}
DECIDERS = {"checker": CHECKER, "supervisor": CHECKER, "viewer": NO_PERMISSION}
CHECKER_STEPS = ("AdminTask-Payload", "AdminTask_Output", "ValidateCheckerAccess_Output")
V2, ITEM, WRAPPED = "v2", "v1.1 item", "wrapped call"
RAISED, DECIDED = "raised", "decided by a checker"  # an event of a new request, or of a checker's decision


@dataclass(frozen=True)
class Cell:
    """One thing the contract documents that a run can exercise."""

    dimension: str
    key: tuple[Any, ...]
    label: str
    group: str           # the row of the table the cell sits in (an operation, a catalogue, a type)
    column: str          # its column (a status, a code, a transition)
    note: str = ""       # why no request can reach it, when the contract says so


# -- the universe: what the contract documents --------------------------------------------
def covered_operations(contract: Contract) -> list[Any]:
    return [op for op in contract.operations.values()
            if not op.path.startswith("webhook:") and set(op.raw.get("tags", [])) & set(COVERED_TAGS)]


def status_cells(contract: Contract) -> list[Cell]:
    cells = []
    for op in covered_operations(contract):
        for status, response in sorted(op.raw["responses"].items()):
            note = contract.resolve(response).get(UNPROVOKABLE, "") if status[:1].isdigit() else ""
            cells.append(Cell(STATUSES, (op.operation_id, status), f"{op.operation_id} {status}",
                              op.operation_id, status, note))
    return cells


def unprovokable_codes(contract: Contract) -> dict[int, str]:
    """v2 codes only an `x-unprovokable` response carries, with the reason it gives."""
    only, elsewhere = {}, set()
    for op in covered_operations(contract):
        for response in op.raw["responses"].values():
            note = contract.resolve(response).get(UNPROVOKABLE)
            for code in codes_in(contract, response):
                if note:
                    only.setdefault(code, note)
                else:
                    elsewhere.add(code)
    return {code: note for code, note in only.items() if code not in elsewhere}


def error_cells(contract: Contract) -> list[Cell]:
    cells = []
    unprovokable = unprovokable_codes(contract)
    for catalogue, codes in ((V2, contract.workflow_errors), (ITEM, contract.legacy_item_errors),
                             (WRAPPED, contract.wrapped_errors)):
        for code, message in sorted(codes.items()):
            note = unprovokable.get(code, "") if catalogue == V2 else ""
            cells.append(Cell(ERRORS, (catalogue, code), f"{catalogue} {code} {message}", catalogue, str(code), note))
    return cells


def operation_of(contract: Contract, method: str, url_name: str) -> Any:
    """The operation that creates (POST) or decides (PUT) a type, whatever the paths' layout."""
    found = contract.match(method, contract.create_path(url_name))
    if found is None:
        raise KeyError(f"the contract has no {method} for {url_name}")
    return found[0]


def decided_without_checker(contract: Contract) -> set[str]:
    """Types the contract lets a trusted integration decide at once: those whose documented decided
    request, without the checker's steps, still fits the decided request's schema."""
    names = {entry["responseName"]: url for url, entry in contract.request_types.items()}
    out = set()
    for op in {id(o): o for o in (operation_of(contract, "PUT", t) for t in contract.request_types)}.values():
        content = (op.raw["responses"]["200"].get("content") or {}).get("application/json") or {}
        validator = op.response_validator(200)
        for example in (content.get("examples") or {}).values():
            instance = copy.deepcopy(example.get("value") or {})
            data = instance.get("data") or {}
            url_name = names.get(data.get("requestType"))
            if url_name is None or data.get("state") not in lifecycle.TERMINAL:
                continue
            for step in CHECKER_STEPS:
                (data.get("details") or {}).pop(step, None)
            if validator is not None and validator.is_valid(instance):
                out.add(url_name)
    return out


def _outcomes(target: str) -> tuple[str, ...]:
    return (lifecycle.APPROVED, lifecycle.FAILED) if target == lifecycle.BY_WRAPPED_CALL else (target,)


def transition_rows(contract: Contract, url_name: str) -> list[tuple[str, str, str, str]]:
    """(source, action, role, result) of one type: the declared transitions, then the refusals its
    create and decide operations document (a result such as `403` leaves the state as it was)."""
    trusted = url_name in decided_without_checker(contract)
    refused = status_by_code(contract, operation_of(contract, "PUT", url_name))
    create_refused = status_by_code(contract, operation_of(contract, "POST", url_name))
    no_permission, decided = str(refused[2001]), str(refused[2002])
    rows = []
    for (source, action), step in lifecycle.TRANSITIONS.items():
        if action == lifecycle.AUTO and not trusted:
            continue
        role = {lifecycle.CREATE: MAKER, lifecycle.AUTO: TRUSTED}.get(action, CHECKER)
        rows += [(source, action, role, result) for result in _outcomes(step.target)]
    rows.append((lifecycle.NEW, lifecycle.CREATE, NO_PERMISSION, str(create_refused[2001])))
    rows += [(lifecycle.PENDING, DECIDE, OWN_MAKER, no_permission), (lifecycle.PENDING, DECIDE, NO_PERMISSION, no_permission)]
    rows += [(state, DECIDE, CHECKER, decided) for state in sorted(lifecycle.TERMINAL)]
    return rows


def transition_cells(contract: Contract) -> list[Cell]:
    cells = []
    for url_name in sorted(contract.request_types):
        for source, action, role, result in transition_rows(contract, url_name):
            column = f"{source} —{action} ({role})→ {result}"
            cells.append(Cell(TRANSITIONS, (url_name, source, action, role, result), f"{url_name}: {column}",
                              url_name, column))
    return cells


def event_cells(contract: Contract) -> list[Cell]:
    """Per type, each state change an event announces: raised (no checker: the request is new) or
    decided (by a checker: `checkerId` set), and the state it announces."""
    trusted = decided_without_checker(contract)
    cells = []
    for url_name in sorted(contract.request_types):
        entry = contract.request_types[url_name]
        seen: list[tuple[str, str]] = []
        for (source, action), step in lifecycle.TRANSITIONS.items():
            if action == lifecycle.AUTO and url_name not in trusted:
                continue
            kind = RAISED if source == lifecycle.NEW else DECIDED
            seen += [(kind, result) for result in _outcomes(step.target) if (kind, result) not in seen]
        for kind, current in seen:
            column = f"{kind} → {current}"
            cells.append(Cell(EVENTS, (entry["eventName"], kind, current), f"{entry['eventName']}: {column}",
                              entry["eventName"], column))
    return cells


@functools.lru_cache(maxsize=4)
def universe(contract: Contract) -> dict[str, tuple[Cell, ...]]:
    return {STATUSES: tuple(status_cells(contract)), ERRORS: tuple(error_cells(contract)),
            TRANSITIONS: tuple(transition_cells(contract)), EVENTS: tuple(event_cells(contract))}


# -- what an answer shows -------------------------------------------------------------------
def _json(response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # any body a target sends must not stop the count
        return None


def _codes_at(node: Any) -> Iterator[int]:
    """Every integer `code` inside `node` (codes may travel as 744.0 in Capillary's answers)."""
    if isinstance(node, dict):
        code = node.get("code")
        if isinstance(code, (int, float)) and not isinstance(code, bool) and float(code).is_integer():
            yield int(code)
        for child in node.values():
            yield from _codes_at(child)
    elif isinstance(node, list):
        for child in node:
            yield from _codes_at(child)


def _wrapped_codes(data: Any) -> Iterator[int]:
    output = ((data or {}).get("details") or {}).get("IntouchAPITask_Output") if isinstance(data, dict) else None
    if not isinstance(output, dict):
        return
    yield from _codes_at(output.get("body"))
    for value in (output.get("headers") or {}).get("status_code") or []:
        if str(value).isdigit():
            yield int(value)


class Coverage:
    """The counts of one run, filled by `observe` (a `requests` response hook) and `observe_event`."""

    def __init__(self, contract: Contract, identities: Iterable[Any] = (), events: bool = False):
        self.contract = contract
        self.cells = {dim: cells for dim, cells in universe(contract).items() if events or dim != EVENTS}
        self._keys = {dim: {c.key for c in cells} for dim, cells in self.cells.items()}
        self.counts: Counter[tuple[str, tuple[Any, ...]]] = Counter()
        self.unreached: dict[tuple[str, tuple[Any, ...]], str] = {}  # why a cell cannot be reached here
        # an identity's credential (Authorization or token value) -> its name: who sent a request
        self.senders = {value: who.name for who in identities for value in who.headers.values()}
        self._requests: dict[str, tuple[str, str, str | None]] = {}  # requestId -> (type, state, raised by)
        self._creates = {contract.create_path(t): t for t in contract.request_types}
        self._lock = threading.Lock()

    # -- collection -----------------------------------------------------------------------
    def hit(self, dimension: str, key: tuple[Any, ...]) -> None:
        if dimension in self._keys and key in self._keys[dimension]:
            with self._lock:
                self.counts[(dimension, key)] += 1

    def cannot_reach(self, dimension: str, key: tuple[Any, ...], why: str) -> None:
        self.unreached.setdefault((dimension, key), why)

    def sender(self, headers: Any) -> str | None:
        for name in ("Authorization", TOKEN_HEADER):
            value = headers.get(name)
            if value and value in self.senders:
                return self.senders[value]
        return None

    def observe(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """The response hook: count the operation's status, the codes it names, the transition it made."""
        try:
            self._observe(response)
        except Exception:  # counting must never break the exchange it watches
            pass
        return response

    def _observe(self, response: Any) -> None:
        request = response.request
        path = unquote(urlsplit(request.url or "").path)
        found = self.contract.match(request.method or "", path)
        if found is None:
            return
        op = found[0]
        self.hit(STATUSES, (op.operation_id, str(response.status_code)))
        body = _json(response)
        for entry in (body.get("errors") if isinstance(body, dict) and isinstance(body.get("errors"), list) else []):
            if isinstance(entry, dict):
                self.hit(ERRORS, (V2, entry.get("code")))
        if op.path.startswith("/v1.1/"):
            for code in _codes_at(body.get("response") if isinstance(body, dict) else None):
                self.hit(ERRORS, (ITEM, code))
        data = body.get("data") if isinstance(body, dict) else None
        for item in (data if isinstance(data, list) else [data]):
            for code in _wrapped_codes(item):
                self.hit(ERRORS, (WRAPPED, code))
                self.hit(ERRORS, (ITEM, code))
        self._lifecycle(request, path, response.status_code, data)

    def _lifecycle(self, request: Any, path: str, status: int, data: Any) -> None:
        who = self.sender(request.headers)
        url_name = self._creates.get(path)
        if url_name and request.method == "POST":
            if status == 200 and isinstance(data, dict) and data.get("requestId"):
                state = str(data.get("state"))
                action = lifecycle.CREATE if state == lifecycle.PENDING else lifecycle.AUTO
                role = MAKER if action == lifecycle.CREATE else TRUSTED
                self.hit(TRANSITIONS, (url_name, lifecycle.NEW, action, role, state))
                with self._lock:
                    self._requests[data["requestId"]] = (url_name, state, who)
            elif who and ROLE_OF_IDENTITY.get(who) == NO_PERMISSION:
                self.hit(TRANSITIONS, (url_name, lifecycle.NEW, lifecycle.CREATE, NO_PERMISSION, str(status)))
            return
        if url_name and request.method == "PUT":
            self._decided(request, url_name, who, status, data)
        if isinstance(data, dict) and data.get("requestId") in self._requests and status == 200:
            self._update(data)

    def _decided(self, request: Any, url_name: str, who: str | None, status: int, data: Any) -> None:
        decision = _decision(request)
        known = self._requests.get(decision[0]) if decision else None
        if known is None or known[0] != url_name:
            return
        _, before, raised_by = known
        role = OWN_MAKER if who is not None and who == raised_by else DECIDERS.get(who or "")
        if role is None:
            return
        if status == 200 and isinstance(data, dict):
            action = lifecycle.APPROVE if decision[1] == "approved" else lifecycle.REJECT
            self.hit(TRANSITIONS, (url_name, before, action, role, str(data.get("state"))))
        else:
            self.hit(TRANSITIONS, (url_name, before, DECIDE, role, str(status)))

    def _update(self, data: dict[str, Any]) -> None:
        with self._lock:
            url_name, _, raised_by = self._requests[data["requestId"]]
            self._requests[data["requestId"]] = (url_name, str(data.get("state")), raised_by)

    def observe_event(self, event: Any) -> None:
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict):
            self.hit(EVENTS, (data.get("requestType"), DECIDED if data.get("checkerId") else RAISED,
                              data.get("currentRequestState")))

    # -- results --------------------------------------------------------------------------
    def dimension(self, name: str) -> dict[str, Any]:
        """A dimension's cells with their counts. A cell the contract says no request can provoke is
        shown but not counted; one this target cannot reach (a forced outcome on a real deployment)
        is counted as unreached, with the reason."""
        rows, reached, total = [], 0, 0
        for cell in self.cells[name]:
            count = self.counts.get((name, cell.key), 0)
            row = {"label": cell.label, "group": cell.group, "column": cell.column, "count": count}
            if cell.note and not count:
                row["unprovokable"] = cell.note
            else:
                total += 1
                reached += bool(count)
                if not count and (name, cell.key) in self.unreached:
                    row["unreached"] = self.unreached[(name, cell.key)]
            rows.append(row)
        return {"reached": reached, "total": total, "percent": _percent(reached, total), "cells": rows}

    def as_dict(self) -> dict[str, Any]:
        dims = {name: self.dimension(name) for name in self.cells}
        reached = sum(d["reached"] for d in dims.values())
        total = sum(d["total"] for d in dims.values())
        return {"percent": _percent(reached, total), "reached": reached, "total": total, "dimensions": dims,
                "states": self.states_reached()}

    def states_reached(self) -> dict[str, list[str]]:
        """Per type, the states the run's requests were seen in."""
        out: dict[str, set[str]] = {t: set() for t in sorted(self.contract.request_types)}
        for (dim, key), count in self.counts.items():
            if dim == TRANSITIONS and count and key[4] in (lifecycle.PENDING, *lifecycle.TERMINAL):
                out[key[0]].add(key[4])
        return {t: sorted(states) for t, states in out.items()}


def _decision(request: Any) -> tuple[str, str] | None:
    body = request.body
    try:
        parsed = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body or "")
        decision = parsed["payload"]["AdminTask-Payload"]["actionDecision"]
        return str(parsed["requestId"]), str(decision)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _percent(reached: int, total: int) -> float:
    return round(100.0 * reached / total, 1) if total else 100.0


# -- the gate and the console table ------------------------------------------------------------
def gaps(summary: dict[str, Any], minimum: float | None, per_dimension: dict[str, float] | None = None) -> list[str]:
    """What keeps the run below its minimum: the overall figure under `minimum`, each dimension under
    its own minimum (else `minimum`), with the cells it did not reach."""
    out = []
    if minimum is not None and summary["percent"] < minimum:
        out.append(f"overall: coverage {summary['percent']}% is below --min-coverage {minimum}%")
    for name, dim in summary["dimensions"].items():
        wanted = (per_dimension or {}).get(name, minimum)
        if wanted is not None and dim["percent"] < wanted:
            missing = [c["label"] + (f" ({c['unreached']})" if c.get("unreached") else "")
                       for c in dim["cells"] if not c["count"] and not c.get("unprovokable")]
            out.append(f"{name}: {dim['percent']}% ({dim['reached']}/{dim['total']}) is below {wanted}%; not reached: "
                       + "; ".join(missing))
    return out


def table(summary: dict[str, Any]) -> str:
    """The console's coverage table: one line per dimension, then per group what was not reached."""
    lines = [f"coverage: {summary['percent']}% ({summary['reached']}/{summary['total']})"]
    for name, dim in summary["dimensions"].items():
        lines.append(f"  {name:<12} {dim['percent']:>5}%  {dim['reached']:>3}/{dim['total']:<3}")
        missing: dict[str, list[str]] = {}
        for cell in dim["cells"]:
            if not cell["count"] and not cell.get("unprovokable"):
                note = f" [{cell['unreached']}]" if cell.get("unreached") else ""
                missing.setdefault(cell["group"], []).append(cell["column"] + note)
        for group, columns in missing.items():
            lines.append(f"    {group}: not reached " + ", ".join(columns))
    states = summary.get("states") or {}
    if states:
        lines.append("  states reached per type: " + "; ".join(f"{t} {'/'.join(s) or '-'}" for t, s in states.items()))
    return "\n".join(lines)

