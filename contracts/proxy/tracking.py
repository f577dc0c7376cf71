"""Lifecycle rules: each request followed across the calls that show it, against the transition table.

The proxy sees creates, decisions, reads and lists go by; for every request id it keeps the
last state it saw, the organisation it was shown to first, who raised it, and a digest of
each `details` entry, and holds every later sighting to `capillary_contract.lifecycle`:
a change of state the table allows, details that only grow, terminal states that stay, one
decision, never by the maker, never shown to another organisation.

Memory is bounded: only the `limit` most recently seen requests are tracked (least recently
seen forgotten first), each in a few hundred bytes (digests, never documents). A forgotten
request is judged afresh when it shows up again. Only what a sighting proves is reported:
a request decided outside the proxy may move on from what it last saw, as the table allows.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from capillary_contract import lifecycle
from capillary_contract.http import ORG_HEADER, TOKEN_HEADER
from capillary_contract.loader import Contract

from ..run.checks import details_on_create, details_on_decision
from .conformance import Judgement
from .exchange import NOT_JSON, Exchange

DEFAULT_LIMIT = 10_000


def allowed_changes() -> dict[str, set[str]]:
    """source state -> states it may become, read off the transition table."""
    out: dict[str, set[str]] = {}
    for step in lifecycle.TRANSITIONS.values():
        targets = {lifecycle.APPROVED, lifecycle.FAILED} if step.target == lifecycle.BY_WRAPPED_CALL else {step.target}
        out.setdefault(step.source, set()).update(targets)
    return out


ALLOWED = allowed_changes()
STATES = {s for source, targets in ALLOWED.items() for s in {source, *targets}} - {lifecycle.NEW}
DECISIONS = {lifecycle.APPROVED: lifecycle.APPROVE, lifecycle.REJECTED: lifecycle.REJECT}


@dataclass
class Tracked:
    state: str
    end_time: Any
    details: dict[str, bytes]   # details key -> digest of its value
    org: str | None             # the organisation it was first shown to
    maker: str | None           # who raised it (a caller key, never a credential), when the proxy saw it
    decisions: int = 0          # decisions answered 2xx that the proxy saw


def _digest(value: Any) -> bytes:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode("utf-8", "backslashreplace"),
                           digest_size=12).digest()


def _digests(details: Any) -> dict[str, bytes]:
    return {k: _digest(v) for k, v in details.items()} if isinstance(details, dict) else {}


class _Changed:
    """Stands for a details value the proxy no longer holds and that differs from the new one."""

    def __repr__(self) -> str:
        return "<a different value>"


class Tracker:
    """The requests seen lately (at most `limit`), and the lifecycle rules applied to each sighting."""

    def __init__(self, contract: Contract, limit: int = DEFAULT_LIMIT):
        self.contract = contract
        self.limit = limit
        self.requests: OrderedDict[str, Tracked] = OrderedDict()

    # -- who and where --------------------------------------------------------------------
    def caller(self, exchange: Exchange) -> str | None:
        """A key for the caller: the Basic user name or the token's subject (kept in memory only)."""
        token = exchange.request_header(TOKEN_HEADER)
        if token:
            try:
                return "token:" + str(jwt.decode(token, options={"verify_signature": False}).get("sub"))
            except jwt.PyJWTError:
                return "token#" + hashlib.blake2b(token.encode(), digest_size=12).hexdigest()
        scheme, _, credential = (exchange.request_header("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                return "basic:" + base64.b64decode(credential.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
        return None

    @staticmethod
    def org(exchange: Exchange) -> str | None:
        return exchange.request_header(ORG_HEADER)

    # -- entry point ------------------------------------------------------------------------
    def observe(self, exchange: Exchange, answer: Any, judgement: Judgement) -> None:
        """Apply the lifecycle rules to a v2 exchange whose answer shows request documents."""
        if not isinstance(answer, dict) or answer is NOT_JSON or exchange.status >= 300:
            self._refusal(exchange, judgement)
            return
        data = answer.get("data")
        sent = exchange.request_json()
        if isinstance(data, list):
            for item in data:
                if isinstance(item, dict):
                    self._sighting(item, exchange, judgement)
        elif isinstance(data, dict) and isinstance(data.get("requestId"), str):
            if exchange.method == "POST" and isinstance(sent, dict):
                self._created(data, sent, exchange, judgement)
            elif _decision(sent) is not None:
                self._decided(data, sent, exchange, judgement)
            else:
                self._sighting(data, exchange, judgement)

    def _refusal(self, exchange: Exchange, judgement: Judgement) -> None:
        """A refused decision counts as the rules say: nothing to check, it was refused."""
        sent = exchange.request_json()
        if _decision(sent) is None:
            return
        tracked = self.requests.get(sent.get("requestId"))
        if tracked is not None and tracked.state in lifecycle.TERMINAL:
            judgement.check("decided_once")
        if tracked is not None and tracked.maker is not None and tracked.maker == self.caller(exchange):
            judgement.check("maker_is_not_checker")

    # -- kinds of sighting -----------------------------------------------------------------
    def _created(self, data: dict[str, Any], sent: dict[str, Any], exchange: Exchange, judgement: Judgement) -> None:
        request_id = data["requestId"]
        state = data.get("state")
        judgement.check("allowed_transition")
        if state not in ALLOWED[lifecycle.NEW]:
            judgement.fail("allowed_transition", f"a new request answered state {state!r}; the table allows "
                                                 f"{sorted(ALLOWED[lifecycle.NEW])} on create", request_id)
        judgement.check("details_growth")
        if isinstance(sent.get("payload"), dict):
            for problem in details_on_create(data, sent):
                judgement.fail("details_growth", problem, request_id)
        self._remember(request_id, data, org=self.org(exchange), maker=self.caller(exchange))

    def _decided(self, data: dict[str, Any], sent: dict[str, Any], exchange: Exchange, judgement: Judgement) -> None:
        request_id = data["requestId"]
        decision, message = _decision(sent)
        tracked = self.requests.get(request_id)
        if tracked is not None:
            self._shown_to(tracked, request_id, exchange, judgement)
            judgement.check("decided_once")
            if tracked.state in lifecycle.TERMINAL or tracked.decisions:
                judgement.fail("decided_once", f"a second {decision} of a request already {tracked.state} was "
                                               f"answered HTTP {exchange.status} (state now {data.get('state')!r})",
                               request_id)
            if tracked.maker is not None:
                judgement.check("maker_is_not_checker")
                if tracked.maker == self.caller(exchange):
                    judgement.fail("maker_is_not_checker", f"the caller who raised the request had their own "
                                                           f"{decision} answered HTTP {exchange.status}", request_id)
            if tracked.state not in lifecycle.TERMINAL:
                self._state_change(tracked.state, data, judgement, action=DECISIONS.get(decision))
                judgement.check("details_growth")
                before = {"details": self._held_details(tracked, data.get("details"))}
                for problem in details_on_decision(before, data, decision, message):
                    judgement.fail("details_growth", problem, request_id)
        else:
            self._state_change(lifecycle.PENDING, data, judgement, action=DECISIONS.get(decision))
        self._remember(request_id, data, org=self.org(exchange), maker=None, decided=True)

    def _sighting(self, data: dict[str, Any], exchange: Exchange, judgement: Judgement) -> None:
        """A read or a list item: the request as the deployment shows it now."""
        request_id = data.get("requestId")
        if not isinstance(request_id, str):
            return
        tracked = self.requests.get(request_id)
        if tracked is None:
            judgement.check("allowed_transition")
            if data.get("state") not in STATES:
                judgement.fail("allowed_transition", f"state {data.get('state')!r} is not a state of the lifecycle "
                                                     f"table {sorted(STATES)}", request_id)
            self._remember(request_id, data, org=self.org(exchange), maker=None)
            return
        self._shown_to(tracked, request_id, exchange, judgement)
        if tracked.state in lifecycle.TERMINAL:
            judgement.check("terminal_state_stays")
            changed = [name for name, old, new in (("state", tracked.state, data.get("state")),
                                                   ("endTime", tracked.end_time, data.get("endTime")))
                       if old != new]
            changed += [f"details.{k}" for k in sorted(set(tracked.details) | set(_digests(data.get("details"))))
                        if tracked.details.get(k) != _digests(data.get("details")).get(k)]
            if changed:
                judgement.fail("terminal_state_stays", f"a request that was {tracked.state} shows a different "
                                                       f"{', '.join(changed)} (state now {data.get('state')!r})",
                               request_id)
            self._touch(request_id)
            return
        self._state_change(tracked.state, data, judgement, action=None)
        judgement.check("details_growth")
        new = _digests(data.get("details"))
        for key, digest in tracked.details.items():
            if new.get(key) != digest:
                judgement.fail("details_growth", f"details.{key} changed between two reads", request_id)
        self._remember(request_id, data, org=tracked.org, maker=tracked.maker)

    # -- rules shared by the sightings --------------------------------------------------------
    def _state_change(self, old: str, data: dict[str, Any], judgement: Judgement, action: str | None) -> None:
        new = data.get("state")
        judgement.check("allowed_transition")
        if new == old and action is None:
            return
        if action is not None:
            try:
                step = lifecycle.transition(old, action)
            except lifecycle.NoTransition:
                allowed: set[str] = set()
            else:
                allowed = ({lifecycle.APPROVED, lifecycle.FAILED} if step.target == lifecycle.BY_WRAPPED_CALL
                           else {step.target})
            how = f"'{action}'"
        else:
            allowed = ALLOWED.get(old, set())
            how = "any action"
        if new not in allowed:
            judgement.fail("allowed_transition", f"state went {old!r} -> {new!r}; the table allows {old!r} -> "
                                                 f"{sorted(allowed)} by {how}", data.get("requestId"))

    def _shown_to(self, tracked: Tracked, request_id: str, exchange: Exchange, judgement: Judgement) -> None:
        org = self.org(exchange)
        if tracked.org is None or org is None:
            return
        judgement.check("org_isolation")
        if org != tracked.org:
            judgement.fail("org_isolation", f"a request of organisation {tracked.org} was shown to a caller of "
                                            f"organisation {org}", request_id)

    def _held_details(self, tracked: Tracked, details: Any) -> dict[str, Any]:
        """The details the request held before, rebuilt from digests: the new value where it matches,
        a stand-in that differs from anything where it does not (so `details_on_decision` can compare)."""
        details = details if isinstance(details, dict) else {}
        return {k: details[k] if k in details and _digest(details[k]) == d else _Changed()
                for k, d in tracked.details.items()}

    # -- memory ------------------------------------------------------------------------------
    def _remember(self, request_id: str, data: dict[str, Any], org: str | None, maker: str | None,
                  decided: bool = False) -> None:
        old = self.requests.pop(request_id, None)
        entry = Tracked(state=str(data.get("state")), end_time=data.get("endTime"), details=_digests(data.get("details")),
                        org=org if old is None or old.org is None else old.org,
                        maker=maker if old is None or old.maker is None else old.maker,
                        decisions=(old.decisions if old else 0) + int(decided))
        self.requests[request_id] = entry
        while len(self.requests) > self.limit:
            self.requests.popitem(last=False)

    def _touch(self, request_id: str) -> None:
        self.requests.move_to_end(request_id)


def _decision(sent: Any) -> tuple[str, str] | None:
    """(decision, message) of a decision body, else None."""
    if not isinstance(sent, dict) or not isinstance(sent.get("payload"), dict):
        return None
    task = sent["payload"].get("AdminTask-Payload")
    if not isinstance(task, dict) or task.get("actionDecision") not in DECISIONS:
        return None
    return task["actionDecision"], task.get("actionMessage")
