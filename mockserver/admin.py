"""The mock's control API under /__admin/: health, reset, journal, events, subscriptions, faults."""
from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, g, request

from .errors import ApiError
from .masking import MASK, masked
from .preload import load_configured
from .state import mock_state
from .store import StoredEvent

bp = Blueprint("admin", __name__)
VERSION = "0.1.0"
ADMIN_DOCUMENT = Path(__file__).with_name("admin.openapi.yaml")
SERVERS_BLOCK = re.compile(r"^servers:\n(?:[ \t-].*\n|\n)*?(?=\S)", re.MULTILINE)


@bp.get("/__admin/health", endpoint="adminHealth")
def health() -> Any:
    from .webhooks.views import delivery_health  # the webhooks package imports this module
    state = mock_state()
    with state.store.read() as reader:
        count = reader.count_requests()
    webhooks = delivery_health(state.store, state.config.dispatch)
    return {"status": "degraded" if webhooks.pop("degraded") else "ok", "version": VERSION,
            "storage": state.store.location, "requests": count, "pid": os.getpid(), **webhooks}


@bp.post("/__admin/reset", endpoint="adminReset")
def reset() -> Any:
    state = mock_state()
    state.store.reset()
    if g.checked.params.get("preload"):
        load_configured(state)
    return {"reset": True}


@bp.get("/__admin/journal", endpoint="adminJournal")
def journal() -> Any:
    p = g.checked.params
    with mock_state().store.read() as reader:
        entries = reader.list_journal(p.get("limit", 100), p.get("path"))
    for entry in entries:  # bodies are stored as sent and masked here, once parsed (masking.py)
        for key in ("body", "responseBody"):
            if key in entry:
                entry[key] = masked(entry[key])
    return {"entries": entries}


def event_view(stored: StoredEvent, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry of `GET /__admin/events` (served by the webhooks package, which owns deliveries)."""
    return {"eventId": stored.event_id, "requestId": stored.request_id, "state": stored.state,
            "createdAt": stored.created_at, "event": stored.event, "deliveries": deliveries}


def _shown(sub: dict[str, Any]) -> dict[str, Any]:
    """A subscription as the admin API shows it: header names, never their values (tokens, keys)."""
    return {**sub, "headers": {name: MASK for name in sub["headers"]}}


@bp.get("/__admin/subscriptions", endpoint="adminListSubscriptions")
def list_subscriptions() -> Any:
    with mock_state().store.read() as reader:
        return {"subscriptions": [_shown(sub) for sub in reader.list_subscriptions()]}


@bp.post("/__admin/subscriptions", endpoint="adminAddSubscription")
def add_subscription() -> Any:
    body = g.checked.body
    if points_at_admin_api(body["url"]):
        raise ApiError.of(400, None, "url", "a subscription may not point at a mock's admin API (/__admin/)")
    with mock_state().store.transaction() as tx:
        return _shown(tx.add_subscription(body["url"], body.get("headers", {}))), 201


def points_at_admin_api(url: str) -> bool:
    """The URL's path, decoded and with dot segments resolved as a server would, is under /__admin.

    Judged by path alone, whatever the host: a name or address that reaches this mock has too many
    spellings (aliases, 127.0.0.0/8, IPv6, a DNS name) to list, and no receiver lives under /__admin."""
    path = unquote(urlsplit(url.strip()).path).replace("\\", "/")
    resolved = posixpath.normpath("/" + path.lstrip("/")).lower()
    return resolved == "/__admin" or resolved.startswith("/__admin/")


@bp.delete("/__admin/subscriptions/<subscriptionId>", endpoint="adminRemoveSubscription")
def remove_subscription(subscriptionId: str) -> Any:
    with mock_state().store.transaction() as tx:
        removed = tx.remove_subscription(g.checked.params["subscriptionId"])
    if removed is None:
        raise ApiError.of(404, None, "subscriptionId", "no such subscription")
    return removed


@bp.get("/__admin/faults", endpoint="adminListFaults")
def list_faults() -> Any:
    with mock_state().store.read() as reader:
        return {"faults": reader.list_faults()}


@bp.post("/__admin/faults", endpoint="adminAddFault")
def add_fault() -> Any:
    with mock_state().store.transaction() as tx:
        return tx.add_fault(g.checked.body), 201


@bp.delete("/__admin/faults", endpoint="adminClearFaults")
def clear_faults() -> Any:
    with mock_state().store.transaction() as tx:
        tx.clear_faults()
    return {"faults": []}


def _served_from() -> str:
    return request.host_url.rstrip("/")


@bp.get("/openapi.yaml", endpoint="getContract")
def contract_file() -> Any:
    """openapi.yaml as written (comments and all), its `servers` naming the URL it was fetched from."""
    with open(mock_state().contract.source, encoding="utf-8") as handle:
        text = handle.read()
    servers = f"servers:\n  - url: {_served_from()}\n    description: the mock this document was fetched from\n"
    return Response(SERVERS_BLOCK.sub(lambda _: servers, text, count=1), mimetype="application/yaml")


@bp.get("/__admin/openapi.yaml", endpoint="getAdminDocument")
def admin_document() -> Any:
    """The admin document with the schemas it shares with the contract inlined: it stands alone."""
    import yaml  # here: PyYAML is ~18 ms of every worker's start-up, and the contract loads from its cache
    document = {**mock_state().admin.spec, "servers": [
        {"url": _served_from(), "description": "the mock this document was fetched from"}]}
    return Response(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120),
                    mimetype="application/yaml")
