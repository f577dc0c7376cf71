"""Invalid v1.1 batches: envelope breaks (HTTP 400, status 400) and item breaks (per-item codes).

A batch body is an envelope (`root.request`, 1..100 items) around items that the mock checks
one by one (`x-batch-items`). Breaking the envelope, or sending an item that is not an object,
refuses the whole body: HTTP 400 with status code 400. Breaking one rule of an item fails that
item alone with the code the spec ties to the rule (9009 where the node names none); the batch
answers status 500 (HTTP 400) when that was its only item, 201 (HTTP 200) when another item of
the batch went through. Each break is made by `fixtures_invalid.mutations`, one keyword at a time,
and kept only when its violations carry a single documented code, so every label is exact.
"""
from __future__ import annotations

from typing import Any, Iterator

from capillary_contract.loader import Contract
from contracts.fixtures_invalid import mutations, single_code_breaks, slug
from contracts.fixtures_legacy import (DECISIONS, OPERATIONS, Catalogue, Labels, Script, Step, name_slug,
                                       item_schema_name, placeholder_ids)
from contracts.fixtures_schema import resolve

# "Where a node says nothing ... (v1.1 items: 9009 ...)" (openapi.yaml info.description).
DEFAULT_ITEM_CODE = 9009
ENVELOPE_STATUS = 400
VERBS = ("add", *DECISIONS)


def _items_pointer(contract: Contract, verb: str) -> str:
    return resolve(contract, contract.operations[OPERATIONS[verb]].body.schema)["x-batch-items"]


def _setup(catalogue: Catalogue, verb: str, pair: tuple[str, str]) -> list[Step]:
    """The add a decision needs first, so the id it decides is one the mock really has."""
    return [] if verb == "add" else [Step("add", {"root": {"request": [catalogue.add_item(pair)]}})]


def _good_item(catalogue: Catalogue, verb: str, pair: tuple[str, str], ids: list[str]) -> dict[str, Any]:
    return catalogue.add_item(pair) if verb == "add" else catalogue.decision_item(verb, pair, ids[0])


def _where(items: str, index: int, found: list) -> dict[str, str]:
    inner = found[0].field if found[0].field != "/" else ""
    return {"field": f"{items}/{index}{inner}", "detail": found[0].detail}


def item_scripts(contract: Contract, seed: int, labels: Labels, catalogue: Catalogue) -> Iterator[Script]:
    """One script per single-code item break: the item alone, and (first break of each code per
    verb) after a good item, so both batch answers (500 and 201) are shown."""
    for verb in VERBS:
        schema_name = item_schema_name(contract, verb)
        validator = contract.component_validator(schema_name)
        items = _items_pointer(contract, verb)
        mixed_codes: set[int] = set()
        for pair in catalogue.pairs:
            # Decisions name the request their setup adds; one placeholder per pair and verb.
            ids = placeholder_ids(seed, f"invalid/{verb}/{name_slug(*pair)}", 1)
            setup, good = _setup(catalogue, verb, pair), _good_item(catalogue, verb, pair, ids)
            for brk in single_code_breaks(contract, validator, good, DEFAULT_ITEM_CODE, labels.item_errors):
                if not isinstance(brk.body, dict):
                    continue  # an item that is not an object breaks the envelope (envelope_scripts)
                name = f"{name_slug(*pair)}--{brk.name}"
                breaks = {"rule": brk.rule, "schema": schema_name, **_where(items, 0, brk.found)}
                yield Script(f"invalid/{verb}", name, f"the spec's {pair[0]}/{pair[1]} {verb} item, one rule broken",
                             [*setup, Step(verb, {"root": {"request": [brk.body]}})],
                             labels.expect(verb, [brk.code]), ids=ids if setup else [], breaks=breaks)
                if brk.code in mixed_codes:
                    continue
                mixed_codes.add(brk.code)
                both = ids if setup else placeholder_ids(seed, f"invalid/{verb}/{name}", 1)
                yield Script(f"invalid/{verb}", f"{name}--after-a-good-item",
                             f"a good {pair[0]}/{pair[1]} {verb} item, then the same item with one rule broken",
                             [*setup, Step(verb, {"root": {"request": [good, brk.body]}})],
                             labels.expect(verb, [labels.ok_item, brk.code]), ids=both,
                             breaks={**breaks, **_where(items, 1, brk.found)})


def envelope_scripts(contract: Contract, seed: int, labels: Labels, catalogue: Catalogue) -> Iterator[Script]:
    """One script per single-keyword break of the batch envelope (or of an item's JSON type)."""
    pair = catalogue.pairs[0]
    for verb in VERBS:
        op = contract.operations[OPERATIONS[verb]]
        items = _items_pointer(contract, verb)
        ids = placeholder_ids(seed, f"invalid/{verb}/envelope", 1)
        setup = _setup(catalogue, verb, pair)
        body = {"root": {"request": [_good_item(catalogue, verb, pair, ids)]}}
        named: set[str] = set()
        for pointer, rule, broken in mutations(contract, body, op.body.schema):
            name = slug(pointer, rule)
            if (pointer.startswith(items + "/") and (pointer, rule) != (f"{items}/0", "type")) or name in named:
                continue
            named.add(name)
            found = op.body.violations(broken)
            yield Script(f"invalid/{verb}", f"envelope--{name}", f"a valid {verb} body with its envelope broken",
                         [*setup, Step(verb, broken)],
                         {"status": labels.http_status(verb, ENVELOPE_STATUS), "code": ENVELOPE_STATUS, "items": []},
                         ids=ids if setup else [],
                         breaks={"rule": rule, "schema": op.body.schema["$ref"].rsplit("/", 1)[-1],
                                 "field": found[0].field, "detail": found[0].detail})


def invalid_scripts(contract: Contract, seed: int) -> list[Script]:
    """Every invalid v1.1 script: envelope breaks first, then item breaks, verb by verb."""
    labels, catalogue = Labels(contract), Catalogue(contract)
    return [*envelope_scripts(contract, seed, labels, catalogue), *item_scripts(contract, seed, labels, catalogue)]
