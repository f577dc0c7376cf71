"""A JSON instance walked next to its schema, and copies with one node changed.

Knowing which schema node each part of a body answers to is what lets generation vary the
right leaves (identifiers, amounts, free text) and break exactly one rule at a time.

    >>> [p for p, _, _ in walk(contract, {"a": [1]}, {"type": "object"})]
    ['', '/a', '/a/0']
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from .loader import Contract


def child_schema(contract: Contract, schema: dict[str, Any], key: str) -> dict[str, Any]:
    """The schema an object's property `key` answers to ({} when anything goes)."""
    props = schema.get("properties", {})
    if key in props:
        return contract.resolve(props[key])
    extra = schema.get("additionalProperties", {})
    return contract.resolve(extra) if isinstance(extra, dict) else {}


def walk(contract: Contract, instance: Any, schema: Any, pointer: str = "") -> Iterator[tuple[str, Any, dict]]:
    """Every node of `instance` (depth first, parents first) with the schema it answers to."""
    schema = contract.resolve(schema) if isinstance(schema, dict) else {}
    yield pointer, instance, schema
    if isinstance(instance, dict):
        for key in sorted(instance):
            yield from walk(contract, instance[key], child_schema(contract, schema, key),
                            f"{pointer}/{escape(key)}")
    elif isinstance(instance, list):
        items = contract.resolve(schema.get("items", {}))
        for index, item in enumerate(instance):
            yield from walk(contract, item, items, f"{pointer}/{index}")


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def node_at(instance: Any, pointer: str) -> Any:
    """The node a JSON pointer names."""
    for part in filter(None, pointer.split("/")):
        instance = instance[int(part)] if isinstance(instance, list) else instance[unescape(part)]
    return instance


def replaced(instance: Any, pointer: str, value: Any, delete: bool = False) -> Any:
    """A deep copy of `instance` with the node at `pointer` set to `value` (or removed)."""
    copy = json.loads(json.dumps(instance))
    if not pointer:
        return value
    parts = [unescape(p) for p in pointer[1:].split("/")]
    node = copy
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if delete:
        del node[last]
    else:
        node[last] = value
    return copy
