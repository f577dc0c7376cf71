"""Small helpers over the contract's schemas that the fixture generator shares.

Walking an instance next to its schema tells the generator which leaves are identifiers,
amounts or free text (for valid variety) and which rules each node carries (for invalid
bodies); drawing from the spec goes through Schemathesis's own JSON Schema engine with a
fixed Hypothesis seed, so the same seed always gives the same values.
"""
from __future__ import annotations

import contextlib
import json
from typing import Any, Callable, Iterator

import jsonschema_rs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers
from schemathesis.core.jsonschema import CANONICALIZE_DRAFT_BY_VALIDATOR
from schemathesis.generation.jsonschema.builder import build
from schemathesis.generation.jsonschema.context import Alphabet

from capillary_contract.loader import Contract

DRAFT = CANONICALIZE_DRAFT_BY_VALIDATOR[jsonschema_rs.Draft202012Validator]
# Printable text only: fixtures are read by people and pasted into UIs.
PRINTABLE = Alphabet(allow_x00=False, codec="utf-8",
                     exclude_characters="".join(map(chr, range(32))) + "\x7f")


def resolve(contract: Contract, node: Any) -> Any:
    """Follow local `$ref`s (and single-entry `allOf`) to the schema that holds the keywords."""
    while isinstance(node, dict):
        if "$ref" in node:
            target: Any = contract.spec
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        elif set(node) == {"allOf"} and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            break
    return node


def child_schema(contract: Contract, schema: dict[str, Any], key: str) -> dict[str, Any]:
    """The schema an object's property `key` answers to ({} when anything goes)."""
    props = schema.get("properties", {})
    if key in props:
        return resolve(contract, props[key])
    extra = schema.get("additionalProperties", {})
    return resolve(contract, extra) if isinstance(extra, dict) else {}


def walk(contract: Contract, instance: Any, schema: Any, pointer: str = "") -> Iterator[tuple[str, Any, dict]]:
    """Every node of `instance` (depth first, parents first) with the schema it answers to."""
    schema = resolve(contract, schema) if isinstance(schema, dict) else {}
    yield pointer, instance, schema
    if isinstance(instance, dict):
        for key in sorted(instance):
            yield from walk(contract, instance[key], child_schema(contract, schema, key),
                            f"{pointer}/{escape(key)}")
    elif isinstance(instance, list):
        items = resolve(contract, schema.get("items", {}))
        for index, item in enumerate(instance):
            yield from walk(contract, item, items, f"{pointer}/{index}")


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


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


def schema_strategy(contract: Contract, schema: dict[str, Any] | str) -> st.SearchStrategy:
    """Schemathesis's generator for a component (by name) or an inline schema, printable text only."""
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return build({**schema, "components": contract.components}, draft=DRAFT, formats={}, alphabet=PRINTABLE)


@contextlib.contextmanager
def without_local_constants() -> Iterator[None]:
    """Keep Hypothesis from mixing in constants it harvests from whatever local modules are imported.

    Hypothesis (pinned 6.170.9) sometimes draws literals found in the caller's own source files;
    which files those are depends on what the process has imported (pytest loads the tests, the
    CLI does not), so the same seed would give different fixtures. Fixtures must depend on the
    seed alone, so generation runs with that pool empty.
    """
    original = providers._get_local_constants
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def draw(strategy: st.SearchStrategy, count: int, seed: int,
         accept: Callable[[Any], bool] = lambda _: True) -> list[Any]:
    """`count` distinct accepted values Hypothesis draws with this seed, spread from its first
    (simplest) draw to its last (wildest); deterministic for a seed and a Hypothesis version."""
    found: list[Any] = []
    seen: set[str] = set()
    if strategy.is_empty:
        return found

    @hypothesis_seed(seed)
    @settings(max_examples=max(count * 5, 10), phases=[Phase.generate], database=None,
              deadline=None, derandomize=False, suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(strategy)
    def collect(value: Any) -> None:
        key = json.dumps(value, sort_keys=True)
        if len(found) < count * 4 and key not in seen and accept(value):
            seen.add(key)
            found.append(value)

    with without_local_constants():
        collect()
    if len(found) <= count:
        return found
    if count == 1:
        return found[-1:]
    return [found[i * (len(found) - 1) // (count - 1)] for i in range(count)]
