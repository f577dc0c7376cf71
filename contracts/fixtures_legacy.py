"""v1.1 scripts: add → approve / reject flows and the seed's own approvals, with their labels.

A script is the calls one fixture makes, in order, and the answer its last call must get.
Bodies come from the spec's request examples: the add examples, and for each (type, base_type)
an approval or rejection item (the spec's, else the other verb's cut to this verb's schema).
Flows add their requests first, so the decisions name ids the mock really has; those ids are
placeholders from the seed that the recorder binds to the ids the mock answers. Seed scripts
send the documents' approvals unchanged to a mock started with `--examples`, which holds the
requests they decide; their label is the spec's response example itself.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from capillary_contract.loader import Contract
from contracts.fixtures_schema import resolve

OPERATIONS = {"add": "addLegacyRequests", "approve": "approveLegacyRequests", "reject": "rejectLegacyRequests"}
DECISIONS = ("approve", "reject")
CUSTOMER = "LegacyCustomer"
ID_DIGITS = 8


@dataclass
class Step:
    verb: str
    body: Any
    query: dict[str, Any] = field(default_factory=dict)


@dataclass
class Script:
    """One v1.1 fixture before it is played: where it goes, its calls, and its label."""

    folder: str
    name: str
    source: str
    steps: list[Step]
    expect: dict[str, Any]
    examples: bool = False
    ids: list[str] = field(default_factory=list)
    breaks: dict[str, Any] | None = None
    answer: Any = None  # the exact answer the spec documents for the last call, when it has one

    @property
    def operation_id(self) -> str:
        return OPERATIONS[self.steps[-1].verb]


class Labels:
    """What the spec says a batch answers: the batch status objects and the HTTP status of each."""

    def __init__(self, contract: Contract):
        schemas = contract.components["schemas"]
        branches = [*schemas["LegacyBatchStatus"]["oneOf"],
                    *schemas["LegacyFailureResponse"]["properties"]["response"]["properties"]["status"]["oneOf"]]
        self.batch = {b["properties"]["code"]["const"]: {k: b["properties"][k]["const"]
                                                         for k in ("success", "code", "message")} for b in branches}
        self.ok_item = schemas["LegacyItemStatus"]["oneOf"][0]["properties"]["code"]["const"]
        self.item_errors = contract.legacy_item_errors
        self.contract = contract

    def http_status(self, verb: str, code: int) -> int:
        """The smallest HTTP status whose documented schema carries batch status `code`."""
        op = self.contract.operations[OPERATIONS[verb]]
        shapes = [{"response": {"status": self.batch[code], "requests": {"request": []}}},
                  {"response": {"status": self.batch[code]}}]
        for status in sorted(op.responses):
            validator = op.response_validator(status)
            if validator is not None and any(validator.is_valid(shape) for shape in shapes):
                return int(status)
        raise ValueError(f"{op.operation_id} documents no response carrying status {code}")

    def batch_code(self, items: list[int]) -> int:
        """200 when every item went through, 201 when some failed, 500 when all did."""
        failed = sum(code != self.ok_item for code in items)
        return 500 if failed == len(items) else 201 if failed else 200

    def expect(self, verb: str, items: list[int]) -> dict[str, Any]:
        code = self.batch_code(items)
        return {"status": self.http_status(verb, code), "code": code, "items": items}


def examples(node: dict[str, Any]) -> dict[str, Any]:
    return node.get("content", {}).get("application/json", {}).get("examples", {})


def request_examples(contract: Contract, verb: str) -> dict[str, Any]:
    return examples(contract.operations[OPERATIONS[verb]].raw["requestBody"])


def item_schema_name(contract: Contract, verb: str) -> str:
    """The batch item schema of a verb's body (`x-batch-items` says where the items are)."""
    body = resolve(contract, contract.operations[OPERATIONS[verb]].body.schema)
    node = body
    for part in body["x-batch-items"].strip("/").split("/"):
        node = resolve(contract, node["properties"][part])
    return node["items"]["$ref"].rsplit("/", 1)[-1]


def _pair(item: dict[str, Any]) -> tuple[str, str]:
    return item["type"], item["base_type"]


def name_slug(*parts: str) -> str:
    """`CHANGE_IDENTIFIER`, `MOBILE` -> change-identifier-mobile; `goodwillCoupon` -> goodwill-coupon."""
    return "-".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", p).lower().replace("_", "-") for p in parts)


class Catalogue:
    """The spec's v1.1 items by (type, base_type): one add item and one item per decision verb."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.adds: dict[tuple[str, str], dict[str, Any]] = {}
        self.decided: dict[str, dict[tuple[str, str], dict[str, Any]]] = {v: {} for v in DECISIONS}
        for _, example in sorted(request_examples(contract, "add").items()):
            for item in example["value"]["root"]["request"]:
                self.adds.setdefault(_pair(item), item)
        for verb in DECISIONS:
            for _, example in sorted(request_examples(contract, verb).items()):
                for item in example["value"]["root"]["request"]:
                    self.decided[verb].setdefault(_pair(item), item)
        self.pairs = sorted({*self.adds, *self.decided["approve"], *self.decided["reject"]})
        self.customer_keys = tuple(contract.components["schemas"][CUSTOMER]["properties"])

    def add_item(self, pair: tuple[str, str]) -> dict[str, Any]:
        """The spec's add of this pair, else one naming the customer its type's add example names."""
        if pair in self.adds:
            return dict(self.adds[pair])
        like = next((a for p, a in sorted(self.adds.items()) if p[0] == pair[0]), next(iter(self.adds.values())))
        item = {k: like[k] for k in ("reference_id", *self.customer_keys) if k in like}
        return {**item, "type": pair[0], "base_type": pair[1]}

    def decision_item(self, verb: str, pair: tuple[str, str], request_id: str) -> dict[str, Any]:
        """The spec's `verb` item of this pair, else the other verb's cut to this verb's schema."""
        other = DECISIONS[1 - DECISIONS.index(verb)]
        item = self.decided[verb].get(pair) or self.decided[other].get(pair)
        allowed = self.contract.components["schemas"][item_schema_name(self.contract, verb)]["properties"]
        return {**{k: v for k, v in item.items() if k in allowed}, "id": request_id}


def placeholder_ids(seed: int, name: str, count: int) -> list[str]:
    """Seeded ids for the requests a script adds (distinct, the seed's own width)."""
    rng = random.Random(f"{seed}:legacy:{name}")
    ids: list[str] = []
    while len(ids) < count:
        candidate = str(rng.randrange(10 ** (ID_DIGITS - 1), 10 ** ID_DIGITS))
        if candidate not in ids:
            ids.append(candidate)
    return ids


def flow(labels: Labels, catalogue: Catalogue, seed: int, name: str, source: str,
         pairs: list[tuple[str, str]], verb: str | None, query: dict[str, Any] | None = None) -> Script:
    """Add one request per pair, then (when `verb`) decide them all in one batch."""
    ids = placeholder_ids(seed, name, len(pairs))
    steps = [Step("add", {"root": {"request": [catalogue.add_item(p) for p in pairs]}}, dict(query or {}))]
    if verb:
        items = [catalogue.decision_item(verb, p, i) for p, i in zip(pairs, ids)]
        steps.append(Step(verb, {"root": {"request": items}}))
    last = verb or "add"
    return Script("valid", name, source, steps, labels.expect(last, [labels.ok_item] * len(pairs)), ids=ids)


def valid_scripts(contract: Contract, seed: int) -> list[Script]:
    """Every valid v1.1 flow and seed approval, in a stable order."""
    labels, catalogue = Labels(contract), Catalogue(contract)
    out = []
    for pair in catalogue.pairs:
        for verb in DECISIONS:
            name = f"add-{verb}-{name_slug(*pair)}"
            out.append(flow(labels, catalogue, seed, name, f"the spec's {pair[0]}/{pair[1]} items, "
                            f"added by the maker and {verb}d by the checker", [pair], verb))
    auto = contract.operations[OPERATIONS["add"]]
    if any(p.name == "client_auto_approve" for p in auto.parameters):
        for pair in sorted(catalogue.adds):
            out.append(flow(labels, catalogue, seed, f"add-auto-approve-{name_slug(*pair)}",
                            "the spec's add example with client_auto_approve=true (approved at once)",
                            [pair], None, {"client_auto_approve": "true"}))
    for verb in DECISIONS:
        out.append(flow(labels, catalogue, seed, f"add-{verb}-batch", f"every pair in one add batch, then one {verb} batch",
                        catalogue.pairs, verb))
    out.extend(seed_scripts(contract, labels))
    return out


def seed_scripts(contract: Contract, labels: Labels) -> list[Script]:
    """The documents' approvals and rejections, sent as they are to a mock holding their requests."""
    out = []
    for verb in DECISIONS:
        op = contract.operations[OPERATIONS[verb]]
        answers = examples(resolve(contract, op.raw["responses"]["200"]))
        for name, example in sorted(request_examples(contract, verb).items()):
            answer = answers.get(name) or (next(iter(answers.values())) if len(answers) == 1 else None)
            if answer is None:
                continue
            codes = [i["item_status"]["code"] for i in answer["value"]["response"]["requests"]["request"]]
            out.append(Script("valid", f"seed-{verb}-{name_slug(name)}",
                              f"openapi.yaml {op.operation_id} example {name} and its documented answer",
                              [Step(verb, example["value"])], labels.expect(verb, codes), examples=True,
                              answer=answer["value"]))
    return out
