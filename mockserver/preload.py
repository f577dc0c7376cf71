"""Start with data: the documents' own requests, and lifecycle fixtures from a folder.

`--examples` stores every v2 request the seed documents show (the spec carries them as
examples marked `x-seed`) under its documented requestId, in its latest documented state,
so `GET .../requests/<id>` answers exactly what the documents print. Loading is idempotent:
restarting on the same database adds nothing twice.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from capillary_contract.loader import Contract
from capillary_contract.types import RequestType
from .store import Store
from .state import MockState
from capillary_contract.lifecycle import CREATE, NEW, TERMINAL, StepInputs, apply, transition
from capillary_contract.users import CAN_MAKE, DEFAULT_ORG

# The create example's entity (seed 003); the documents give none for the other requests.
SEED_ENTITY = {"tillId": "50682289", "storeId": "50682288", "zoneId": "50682286", "conceptId": "50678331"}


def seed_requests(contract: Contract) -> Iterator[dict[str, Any]]:
    """Every documented v2 request (`data` of a response example with x-seed), latest state per id."""
    latest: dict[str, dict[str, Any]] = {}
    for example in _examples(contract.spec):
        data = example.get("value", {}).get("data") if isinstance(example.get("value"), dict) else None
        if "x-seed" in example and isinstance(data, dict) and {"requestId", "state", "details"} <= data.keys():
            known = latest.get(data["requestId"])
            if known is None or (known["state"] not in TERMINAL and data["state"] in TERMINAL):
                latest[data["requestId"]] = data
    yield from latest.values()


def _examples(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples" and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, dict))
            else:
                yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def load_documents(store: Store, contract: Contract, types: dict[str, RequestType],
                   org_id: int = DEFAULT_ORG) -> int:
    """Store the documented requests; returns how many were new."""
    by_response_name = {t.response_name: t for t in types.values()}
    added = 0
    with store.transaction() as tx:
        for document in seed_requests(contract):
            rtype = by_response_name[document["requestType"]]
            added += tx.create_request(org_id, rtype.url_name, document, SEED_ENTITY, if_missing=True)
    return added


def load_fixture_requests(store: Store, folder: Path, types: dict[str, RequestType]) -> int:
    """Store the final request of every lifecycle fixture listed in `folder/index.json`
    (`contracts fixtures` writes them), under its recorded id; returns how many were new."""
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    added = 0
    with store.transaction() as tx:
        for entry in index["files"]:
            if entry.get("kind") != "lifecycle":
                continue
            fixture = json.loads((folder / entry["path"]).read_text(encoding="utf-8"))
            document = fixture["steps"][-1]["response"]["body"]["data"]
            org_id = int(fixture["orgId"])
            entity = fixture["steps"][0]["request"]["body"]["entityInfo"]
            added += tx.create_request(org_id, types[fixture["requestType"]].url_name, document, entity,
                                       if_missing=True)
    return added


PENDING_IDS = uuid.UUID("7d1c6f0e-3b7a-4c55-9a54-2f3c1b0e9d11")  # namespace of the --pending ids
PENDING_SPACING_S = 7 * 60  # the preloaded requests were raised a few minutes apart, newest last


def load_pending(state: MockState, per_type: int, org_id: int = DEFAULT_ORG) -> int:
    """`--pending N`: N requests of every type waiting for a checker, raised in turn by the org's
    makers, each with its type's documented wrapped call, so a checker screen has several pages.
    Ids are derived from (org, type, number), so every worker loading them stores them once."""
    makers = [u for u in state.directory.users.values()  # a trusted integration's requests skip the checker
              if u.org_id == org_id and u.can([CAN_MAKE]) and not u.trusted]
    calls = {d["requestType"]: d["details"]["IntouchAPITask-Payload"] for d in seed_requests(state.contract)}
    by_response_name = {t.response_name: t for t in state.types.values()}
    now = state.local_now().replace(microsecond=0)
    added, step = 0, transition(NEW, CREATE)
    with state.store.transaction() as tx:
        for number in range(per_type):
            for offset, (name, call) in enumerate(sorted(calls.items())):
                maker = makers[(number + offset) % len(makers)]
                at = now - timedelta(seconds=PENDING_SPACING_S * (per_type * len(calls) - number * len(calls) - offset))
                document = {"requestId": str(uuid.uuid5(PENDING_IDS, f"{org_id}/{name}/{number}")),
                            "userId": maker.user_id, "userName": maker.email, "requestType": name, "state": NEW,
                            "startTime": at.strftime("%Y-%m-%dT%H:%M:%S"), "endTime": None,
                            "details": {"IntouchAPITask-Payload": call}}
                document = apply(document, step, StepInputs(), document["startTime"])
                added += tx.create_request(org_id, by_response_name[name].url_name, document, SEED_ENTITY,
                                           if_missing=True)
    return added


def load_configured(state: MockState) -> None:
    """The data the mock was started with (`--examples`, `--fixtures`, `--pending`); idempotent, so every
    worker may run it at start-up, and `POST /__admin/reset?preload=true` runs it again."""
    if state.config.examples:
        from .api_legacy import preload_seed_requests
        load_documents(state.store, state.contract, state.types)
        preload_seed_requests(state.store, state.contract, zone=state.config.timezone)
    if state.config.fixtures_dir is not None:
        load_fixture_requests(state.store, state.config.fixtures_dir, state.types)
    if state.config.pending_per_type:
        load_pending(state, state.config.pending_per_type)
