"""Valid create bodies for each request type: the spec's examples plus seeded variety.

The spec's create examples come first; a type without one gets a body assembled from the
wrapped call its response examples show. Variety is drawn with Hypothesis around that base
(identifiers, amounts, unicode text, edge lengths) and from the whole schema with
Schemathesis's engine; every body is checked against the type's create schema before use.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import strategies as st

from capillary_contract.loader import Contract
from contracts.fixtures_schema import draw, replaced, resolve, schema_strategy, walk

CALL = "/payload/IntouchAPITask-Payload"
# Parts of the wrapped call that address or authorise it; variety there would only break the call.
FIXED_PARTS = ("/hostname", "/path", "/method", "/headers", "/queryParams", "/pathParams")
LONG_TEXT = 1000


@dataclass(frozen=True)
class ValidBody:
    request_type: str
    name: str
    source: str
    body: dict[str, Any]


def sub_seed(seed: int, *parts: str) -> int:
    """A seed of its own for each part of the set, so adding one part never shifts another."""
    return random.Random(":".join([str(seed), *parts])).randrange(2**32)


def spec_examples(contract: Contract) -> dict[str, list[ValidBody]]:
    """Create bodies from the spec: its create examples, else a wrapped call from its responses."""
    ops = contract.operations
    create = ops["createRequest"].raw["requestBody"]["content"]["application/json"].get("examples", {})
    found: dict[str, list[ValidBody]] = {t: [] for t in contract.request_types}
    entity_info = None
    for name, example in sorted(create.items()):
        body = example["value"]
        entity_info = entity_info or body["entityInfo"]
        for rtype in _types_accepting(contract, body):
            found[rtype].append(ValidBody(rtype, f"example-{_slug(name)}", f"openapi.yaml createRequest example {name}", body))
    for op_id in ("createRequest", "decideRequest"):
        content = resolve(contract, ops[op_id].raw["responses"]["200"])["content"]["application/json"]
        for name, example in sorted(content.get("examples", {}).items()):
            data = example["value"]["data"]
            rtype = _url_name(contract, data["requestType"])
            if found[rtype] or entity_info is None:
                continue
            body = _completed(contract, rtype, {"entityInfo": entity_info,
                                                "payload": {"IntouchAPITask-Payload": data["details"]["IntouchAPITask-Payload"]}})
            if body is not None:
                found[rtype].append(ValidBody(rtype, f"example-{_slug(name)}",
                                              f"openapi.yaml {op_id} 200 example {name} (its wrapped call)", body))
    return found


def _types_accepting(contract: Contract, body: Any) -> list[str]:
    return [t for t, info in contract.request_types.items()
            if contract.component_validator(info["schemaName"]).is_valid(body)]


def _url_name(contract: Contract, response_name: str) -> str:
    return next(t for t, info in contract.request_types.items() if info["responseName"] == response_name)


def _completed(contract: Contract, rtype: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The body with absent required object members (e.g. `queryParams`) given as `{}`; None if still invalid."""
    validator = contract.component_validator(contract.request_types[rtype]["schemaName"])
    for _ in range(5):
        if validator.is_valid(body):
            return body
        schemas = {p: s for p, _, s in walk(contract, body, validator.schema)}
        missing = [(p, name) for p, s in schemas.items() for name in s.get("required", [])
                   if name in s.get("properties", {}) and _is_object(contract, s["properties"][name])
                   and name not in _node(body, p)]
        if not missing:
            return None
        for pointer, name in missing:
            body = replaced(body, f"{pointer}/{name}", {})
    return body if validator.is_valid(body) else None


def _is_object(contract: Contract, schema: Any) -> bool:
    return resolve(contract, schema).get("type") == "object"


def _node(instance: Any, pointer: str) -> Any:
    for part in filter(None, pointer.split("/")):
        instance = instance[int(part)] if isinstance(instance, list) else instance[part.replace("~1", "/").replace("~0", "~")]
    return instance


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


# ---------------------------------------------------------------- leaf kinds
def _free(pointer: str) -> bool:
    inside_call = pointer.startswith(CALL)
    return not (inside_call and pointer[len(CALL):].startswith(FIXED_PARTS))


def _constrained(schema: dict[str, Any]) -> bool:
    return any(k in schema for k in ("enum", "const", "pattern", "format"))


def is_identifier(pointer: str, value: Any, schema: dict[str, Any]) -> bool:
    key = pointer.rsplit("/", 1)[-1]
    if not _free(pointer) or isinstance(value, bool) or "enum" in schema or "const" in schema:
        return False
    if isinstance(value, str):
        return value.isdigit()
    return isinstance(value, int) and (key.lower().endswith("id") or key.isdigit())


def is_amount(pointer: str, value: Any, schema: dict[str, Any]) -> bool:
    key = pointer.rsplit("/", 1)[-1].lower()
    return _free(pointer) and "point" in key and not isinstance(value, (dict, list, bool))


def is_text(pointer: str, value: Any, schema: dict[str, Any]) -> bool:
    return (_free(pointer) and isinstance(value, str) and not value.isdigit()
            and schema.get("type") == "string" and not _constrained(schema))


def is_list(pointer: str, value: Any, schema: dict[str, Any]) -> bool:
    return _free(pointer) and isinstance(value, list) and "maxItems" in schema


Kind = Callable[[str, Any, dict], bool]

UNICODE_NAME = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Mn", "Nd"]), min_size=1, max_size=24).map(
    lambda s: s.strip() or "Ω")


def _identifier(value: Any) -> st.SearchStrategy:
    if isinstance(value, str):
        return st.from_regex(r"[1-9][0-9]{0,17}", fullmatch=True)
    return st.integers(min_value=1, max_value=2**31 - 1)


def _variant(contract: Contract, base: dict[str, Any], schema: dict[str, Any], kind: Kind,
             leaf: Callable[[str, Any, dict], st.SearchStrategy]) -> st.SearchStrategy:
    """Bodies like `base` with every leaf of `kind` drawn anew from `leaf`."""
    targets = [(p, v, s) for p, v, s in walk(contract, base, schema) if kind(p, v, s)]

    @st.composite
    def bodies(draw_: Callable) -> dict[str, Any]:
        body = base
        for pointer, value, leaf_schema in targets:
            body = replaced(body, pointer, draw_(leaf(pointer, value, leaf_schema)))
        return body

    return bodies() if targets else st.nothing()


def _amount(contract: Contract) -> Callable[[str, Any, dict], st.SearchStrategy]:
    def leaf(pointer: str, value: Any, schema: dict[str, Any]) -> st.SearchStrategy:
        top = schema.get("maximum")
        edges = [top] if isinstance(top, (int, float)) and not isinstance(value, str) else []
        spec_drawn = schema_strategy(contract, schema)
        return st.one_of(st.sampled_from(edges), spec_drawn) if edges else spec_drawn
    return leaf


def _longest(contract: Contract, base: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Edge lengths: free text at LONG_TEXT characters, bounded lists at their maximum size."""
    body = base
    for pointer, value, leaf_schema in walk(contract, base, schema):
        if is_text(pointer, value, leaf_schema):
            limit = leaf_schema.get("maxLength", LONG_TEXT)
            body = replaced(body, pointer, (value * LONG_TEXT)[:min(limit, LONG_TEXT)])
        elif is_list(pointer, value, leaf_schema) and value and isinstance(value[0], int):
            body = replaced(body, pointer, [value[0] + i for i in range(leaf_schema["maxItems"])])
    return body


def _shortest(contract: Contract, base: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Edge lengths: optional members dropped, free text and identifiers at their minimum length."""
    body = base
    nodes = list(walk(contract, base, schema))
    for pointer, value, node_schema in reversed(nodes):
        if isinstance(value, dict) and _free(pointer + "/x") and node_schema.get("properties"):
            for key in sorted(value):
                if key not in node_schema.get("required", []) and key in node_schema["properties"]:
                    body = replaced(body, f"{pointer}/{key}", None, delete=True)
    for pointer, value, node_schema in walk(contract, body, schema):
        if is_text(pointer, value, node_schema):
            body = replaced(body, pointer, value[: max(node_schema.get("minLength", 0), 1)])
        elif is_identifier(pointer, value, node_schema) and isinstance(value, str):
            body = replaced(body, pointer, "1")
    return body


def valid_bodies(contract: Contract, seed: int, per_kind: int = 2, from_schema: int = 2) -> list[ValidBody]:
    """Every valid create body of the default set, type by type, each checked against its schema."""
    out: list[ValidBody] = []
    examples = spec_examples(contract)
    for rtype, info in contract.request_types.items():
        validator = contract.component_validator(info["schemaName"])
        schema = validator.schema
        chosen = list(examples[rtype])
        seen = {repr(b.body) for b in chosen}

        def keep(name: str, source: str, body: Any) -> None:
            if validator.is_valid(body) and repr(body) not in seen:
                seen.add(repr(body))
                chosen.append(ValidBody(rtype, name, source, body))

        base = chosen[0].body if chosen else None
        if base is not None:
            kinds: list[tuple[str, Kind, Callable]] = [
                ("identifiers", is_identifier, lambda p, v, s: _identifier(v)),
                ("amounts", is_amount, _amount(contract)),
                ("unicode-text", is_text, lambda p, v, s: UNICODE_NAME),
            ]
            for label, kind, leaf in kinds:
                strategy = _variant(contract, base, schema, kind, leaf)
                for i, body in enumerate(draw(strategy, per_kind, sub_seed(seed, rtype, label), validator.is_valid), 1):
                    keep(f"{label}-{i}", f"Hypothesis: the first example with {label} drawn anew", body)
            keep("edge-shortest", "the first example, optional members dropped, text at minimum length",
                 _shortest(contract, base, schema))
            keep("edge-longest", f"the first example, text at {LONG_TEXT} characters, lists at maxItems",
                 _longest(contract, base, schema))
        strategy = schema_strategy(contract, info["schemaName"])
        for i, body in enumerate(draw(strategy, from_schema, sub_seed(seed, rtype, "schema"), validator.is_valid), 1):
            keep(f"schema-{i}", f"Schemathesis engine: drawn from {info['schemaName']}", body)
        out.extend(chosen)
    return out
