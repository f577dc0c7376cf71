"""Invalid create bodies: one rule broken at a time, each labelled with the answer it earns.

Each body is a valid one with a single node changed so that it breaks exactly one keyword of
the schema at that node (a required member removed, a value outside its enum, a pattern
missed, ...). The label (status, code, message) is what the spec says the mock answers:
`SchemaValidator.violations()` names the documented code of the violation (2008 when the
schema node names none), the operation's responses say which HTTP status carries that code.
A mutation whose violations would carry different codes is left out, so every label is exact.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Container, Iterator

from capillary_contract.loader import Contract, Operation, SchemaValidator
from contracts.fixtures_schema import replaced, walk

DEFAULT_CODE = 2008
UNKNOWN_MEMBER = "unexpectedMember"
NOT_AN_ENUM_VALUE = "NOT-A-DOCUMENTED-VALUE"
PATTERN_BREAKER = "not valid!"
WRONG_TYPE = {"object": [], "array": {}, "string": 12345, "integer": "12x", "number": "12x", "boolean": "yes"}


@dataclass(frozen=True)
class InvalidBody:
    request_type: str
    name: str
    rule: str
    field: str
    detail: str
    body: Any
    status: int
    code: int
    message: str


def mutations(contract: Contract, body: Any, schema: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(pointer, keyword, mutated body) for every single-keyword break the schema allows."""
    for pointer, value, node in walk(contract, body, schema):
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        if isinstance(value, dict):
            for key in node.get("required", []):
                if key in value:
                    yield f"{pointer}/{key}", "required", replaced(body, f"{pointer}/{key}", None, delete=True)
            for key in sorted(value):
                if key not in node.get("required", []):
                    # absent optional members break conditional rules (anyOf / if-then required)
                    yield f"{pointer}/{key}", "absent", replaced(body, f"{pointer}/{key}", None, delete=True)
            if node.get("additionalProperties") is False:
                yield pointer, "additionalProperties", replaced(body, f"{pointer}/{UNKNOWN_MEMBER}", "x")
        wrong = _wrong_value(kinds)
        if wrong is not None:
            yield pointer, "type", replaced(body, pointer, wrong)
        if "const" in node:
            yield pointer, "const", replaced(body, pointer, f"{node['const']}-X")
        if "enum" in node:
            yield pointer, "enum", replaced(body, pointer, NOT_AN_ENUM_VALUE)
            for other in node["enum"]:
                if other != value:
                    # another documented value can still break a rule tying it to a sibling
                    yield pointer, "pairing", replaced(body, pointer, other)
        if "pattern" in node and isinstance(value, str):
            yield pointer, "pattern", replaced(body, pointer, PATTERN_BREAKER)
        if node.get("minLength", 0) >= 1 and isinstance(value, str):
            yield pointer, "minLength", replaced(body, pointer, "")
        if "maxLength" in node and isinstance(value, str):
            yield pointer, "maxLength", replaced(body, pointer, ((value or "x") * (node["maxLength"] + 1))[:node["maxLength"] + 1])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in node:
                yield pointer, "minimum", replaced(body, pointer, node["minimum"] - 1)
            if "exclusiveMinimum" in node:
                yield pointer, "exclusiveMinimum", replaced(body, pointer, node["exclusiveMinimum"])
            if "maximum" in node:
                yield pointer, "maximum", replaced(body, pointer, node["maximum"] + 1)
        if isinstance(value, list):
            if node.get("minItems", 0) >= 1:
                yield pointer, "minItems", replaced(body, pointer, [])
            if "maxItems" in node and value:
                yield pointer, "maxItems", replaced(body, pointer, [value[0]] * (node["maxItems"] + 1))
            if node.get("uniqueItems") and value:
                yield pointer, "uniqueItems", replaced(body, pointer, [value[0], value[0]])


def _wrong_value(kinds: list[str]) -> Any:
    """A value of none of the allowed JSON types, the natural opposite of the first one first."""
    if not kinds:
        return None
    candidates = [WRONG_TYPE[k] for k in kinds if k in WRONG_TYPE] + list(WRONG_TYPE.values())
    return next((c for c in candidates if not _admits(kinds, c)), None)


def _admits(kinds: list[str], value: Any) -> bool:
    names = {str: {"string"}, int: {"integer", "number"}, float: {"number"}, list: {"array"},
             dict: {"object"}, bool: {"boolean"}}
    return bool(names[type(value)] & set(kinds))


def status_by_code(contract: Contract, operation: Operation) -> dict[int, int]:
    """Which HTTP status the operation documents for each workflow error code (first 4xx wins)."""
    out: dict[int, int] = {}
    for status, resp in sorted(operation.raw["responses"].items()):
        if not status.startswith("4"):
            continue
        for code in _codes_in(contract, resp, set()):
            out.setdefault(code, int(status))
    return out


def _codes_in(contract: Contract, node: Any, seen: set[str]) -> Iterator[int]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            match = re.fullmatch(r"#/components/schemas/WorkflowError(\d+)", ref)
            if match:
                yield int(match.group(1))
                return
            target: Any = contract.spec
            for part in ref[2:].split("/"):
                target = target[part]
            yield from _codes_in(contract, target, seen)
        for key, child in node.items():
            if key != "examples":
                yield from _codes_in(contract, child, seen)
    elif isinstance(node, list):
        for child in node:
            yield from _codes_in(contract, child, seen)


def slug(pointer: str, rule: str) -> str:
    path = ".".join(p for p in pointer.split("/") if p) or "body"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{path}--{rule}")


@dataclass(frozen=True)
class Break:
    """One single-code break of a base instance: its name, rule, violations, body and code."""

    name: str
    rule: str
    found: list
    body: Any
    code: int


def single_code_breaks(contract: Contract, validator: SchemaValidator, base: Any, default_code: int,
                       known: Container[int]) -> Iterator[Break]:
    """Every mutation of `base` whose violations all carry one documented code (`default_code`
    where the schema node names none); names are unique, the first mutation of a name wins."""
    named: set[str] = set()
    for pointer, rule, body in mutations(contract, base, validator.schema):
        found = validator.violations(body)
        codes = {v.code or default_code for v in found}
        name = slug(pointer, rule)
        if len(codes) != 1 or name in named or not codes <= set(known):
            continue
        named.add(name)
        yield Break(name, rule, found, body, codes.pop())


def invalid_bodies(contract: Contract, bases: dict[str, Any]) -> list[InvalidBody]:
    """Single-rule breaks of each type's base body, labelled with the answer the spec documents."""
    statuses = status_by_code(contract, contract.operations["createRequest"])
    out: list[InvalidBody] = []
    for rtype, base in bases.items():
        validator = contract.component_validator(contract.request_types[rtype]["schemaName"])
        named: set[str] = set()
        for b in single_code_breaks(contract, validator, base, DEFAULT_CODE, statuses):
            named.add(b.name)
            out.append(InvalidBody(rtype, b.name, b.rule, b.found[0].field, b.found[0].detail, b.body,
                                   statuses[b.code], b.code, contract.workflow_errors[b.code]))
        out.extend(_other_type_bodies(contract, rtype, bases, statuses, named))
    return out


def _other_type_bodies(contract: Contract, rtype: str, bases: dict[str, Any], statuses: dict[int, int],
                       named: set[str]) -> Iterator[InvalidBody]:
    """A valid body of another type sent to this type's URL: the URL decides the schema."""
    validator = contract.component_validator(contract.request_types[rtype]["schemaName"])
    for other, body in bases.items():
        found = validator.violations(body)
        codes = {v.code or DEFAULT_CODE for v in found}
        name = f"body-of-{other.lower()}"
        if other == rtype or len(codes) != 1 or name in named:
            continue
        code = codes.pop()
        yield InvalidBody(rtype, name, "body of another request type", found[0].field,
                          "; ".join(v.detail for v in found), body, statuses[code], code,
                          contract.workflow_errors[code])
