"""The contract as the fuzzer sees it: openapi.yaml loaded into Schemathesis, with the create
operation split by request type.

`POST /api_gateway/v2/request-workflow/{requestType}` takes the create body of the type its URL
names; generated from the spec as is, a valid-looking case pairs a type with another type's
body, which a conformant server rightly refuses. The root `x-request-types` says which body
goes with which type, so the fuzzer gets one derived operation per type (a literal path whose
body is that type's create schema). Nothing is restated: the derived operations point at the
spec's own components.
"""
from __future__ import annotations

import copy
import functools
from typing import Any

import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from capillary_contract.loader import Contract, load_contract

FUZZED_TAGS = ("workflow", "legacy")


def derived_spec(contract: Contract) -> dict[str, Any]:
    """The spec plus one create operation per request type (operationId `createRequest:<TYPE>`)."""
    spec = copy.deepcopy(contract.spec)
    template = spec["paths"][contract.operations["createRequest"].path]
    for url_name, entry in contract.request_types.items():
        post = copy.deepcopy(template["post"])
        post["operationId"] = f"createRequest:{url_name}"
        media = post["requestBody"]["content"]["application/json"]
        media["schema"] = {"$ref": entry["schema"]}
        type_validator = contract.component_validator(entry["schemaName"])
        examples = {k: v for k, v in media.get("examples", {}).items() if type_validator.is_valid(v["value"])}
        media.pop("examples", None)
        if examples:
            media["examples"] = examples
        post.pop("links", None)
        spec["paths"][contract.create_path(url_name)] = {
            "parameters": [p for p in template.get("parameters", []) if "RequestType" not in p.get("$ref", "")],
            "post": post,
        }
    return spec


@functools.lru_cache(maxsize=2)
def _schema(source: str, mtime: float) -> OpenApiSchema:
    contract = load_contract(source)
    return schemathesis.openapi.from_dict(derived_spec(contract))


def load_schema(contract: Contract | None = None) -> OpenApiSchema:
    """Schemathesis's view of the contract (cached per spec file version)."""
    import os

    contract = contract or load_contract()
    return _schema(contract.source, os.stat(contract.source).st_mtime)


def operation_id(op: Any) -> str:
    return op.definition.raw.get("operationId", op.label)


def fuzzed_operations(schema: OpenApiSchema) -> list[Any]:
    """Workflow and legacy operations (never the admin API: resetting the target is not a test)."""
    out = []
    for result in schema.get_all_operations():
        op = result.ok()
        if set(op.definition.raw.get("tags", [])) & set(FUZZED_TAGS) or operation_id(op).startswith("createRequest:"):
            out.append(op)
    return out
