"""Every documented error code is in openapi.yaml with its exact documented message, where it can occur.

The codes and messages are read from the vendored documents (docs/capillary/), never from the
spec, and compared with the catalogues the contract loader derives from the spec.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from capillary_contract.loader import load_contract
from seed_docs import reference_text, seed_examples, seed_text

CONTRACT = load_contract()
REFERENCE = reference_text()
ERROR_STATUS = re.compile(r"^[45]")


# --------------------------------------------------------------------------- the documents' catalogues
def documented_workflow_errors() -> dict[int, str]:
    """The reference's table "Request workflow error codes": `| 2001 | No permissions. ... |`."""
    return {int(code): message.strip() for code, message in re.findall(r"^\| (20\d\d) \| (.+?) \|$", REFERENCE, re.M)}


def _expand_alternatives(text: str, count: int) -> list[str]:
    """"new email/external id/mobile already exists" for 3 codes -> the three messages."""
    parts = text.split("/")
    if count == 1 or len(parts) != count:
        return [text] * count
    prefix, first = parts[0].rsplit(" ", 1) if " " in parts[0] else ("", parts[0])
    last, suffix = parts[-1].split(" ", 1)
    alternatives = [first, *parts[1:-1], last]
    return [f"{prefix} {alt} {suffix}".strip() for alt in alternatives]


def documented_legacy_item_codes() -> dict[int, str]:
    """The reference's "v1.1 item codes:" list: `9013 and 9050 Request not found; ...` -> {code: text}."""
    paragraph = REFERENCE.split("v1.1 item codes:", 1)[1].split("\n\n", 1)[0]
    out = {}
    for segment in paragraph.replace("\n", " ").split(";"):
        match = re.match(r"\s*((?:\d{4}(?:/| and |\s)*)+)(.*)", segment)
        assert match, segment
        codes = [int(c) for c in re.findall(r"\d{4}", match.group(1))]
        text = re.sub(r"\s*\(.*?\)", "", match.group(2)).strip().rstrip(".")
        out.update(zip(codes, _expand_alternatives(text, len(codes))))
    return out


def documented_wrapped_errors() -> dict[int, str]:
    """Reference §3 "Errors 8003 Invalid source; ..." plus the item_status codes of seed 000's examples."""
    out = {}
    errors = re.search(r"Errors (8\d{3} .*?)\.\n", REFERENCE).group(1)
    for segment in errors.split(";"):
        code, message = segment.strip().split(" ", 1)
        out[int(code)] = message
    for seed in seed_examples():
        if seed.seed.startswith("000"):
            for status in _item_statuses(seed.value):
                if status["success"] == "false":
                    out[int(status["code"])] = status["message"]
    return out


def _item_statuses(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("item_status"), dict):
            yield value["item_status"]
        for child in value.values():
            yield from _item_statuses(child)
    elif isinstance(value, list):
        for child in value:
            yield from _item_statuses(child)


def seed_001_error_table() -> dict[int, str]:
    """Seed 001's "Error code" table: `9056Same user cannot request and approve`."""
    table = seed_text("001").split("Error codeDescription", 1)[1].split("\n\n", 1)[0]
    return {int(line[:4]): line[4:].strip() for line in table.strip().splitlines()}


# --------------------------------------------------------------------------- v2 codes
def test_reference_lists_the_workflow_codes_2001_to_2030():
    codes = documented_workflow_errors()
    assert min(codes) == 2001 and max(codes) == 2030 and len(codes) == 23


@pytest.mark.parametrize("code,message", sorted(documented_workflow_errors().items()))
def test_workflow_code_has_its_exact_documented_message(code: int, message: str):
    assert CONTRACT.workflow_errors.get(code) == message


def test_spec_has_no_undocumented_workflow_code():
    assert set(CONTRACT.workflow_errors) == set(documented_workflow_errors())


# --------------------------------------------------------------------------- v1.1 and wrapped-call codes
@pytest.mark.parametrize("code,text", sorted(documented_legacy_item_codes().items()))
def test_legacy_item_code_is_in_the_spec(code: int, text: str):
    if code == 9000:  # success: the item_status of seed 001's answers
        status = {"success": "true", "code": 9000, "message": "Request updated successfully"}
        assert CONTRACT.component_validator("LegacyItemStatus").is_valid(status)
        return
    assert code in CONTRACT.legacy_item_errors
    assert text.lower() in CONTRACT.legacy_item_errors[code].lower()


def test_legacy_item_codes_are_exactly_the_documented_ones():
    documented = set(documented_legacy_item_codes()) - {9000}
    assert set(CONTRACT.legacy_item_errors) == documented
    assert {1627, 1629} <= documented and len([c for c in documented if c >= 9000]) == 26


@pytest.mark.parametrize("code,message", sorted(seed_001_error_table().items()))
def test_seed_001_item_codes_have_their_exact_messages(code: int, message: str):
    assert CONTRACT.legacy_item_errors[code] == message


@pytest.mark.parametrize("code,message", sorted(documented_wrapped_errors().items()))
def test_wrapped_call_code_has_its_exact_documented_message(code: int, message: str):
    assert CONTRACT.wrapped_errors.get(code) == message


def test_744_reference_number_already_exists_is_a_wrapped_error():
    assert CONTRACT.wrapped_errors[744] == "Reference number already exists"
    assert documented_wrapped_errors()[744] == CONTRACT.wrapped_errors[744]


# --------------------------------------------------------------------------- codes on the operations
def referenced_components(node: Any, seen: set[str] | None = None) -> set[str]:
    """Names of every component schema a schema reaches through `$ref`, transitively."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref[len("#/components/schemas/"):]  # a component, or a pointer into one
            if name not in seen:
                seen.add(name)
                referenced_components(CONTRACT.target(ref), seen)
        for child in node.values():
            referenced_components(child, seen)
    elif isinstance(node, list):
        for child in node:
            referenced_components(child, seen)
    return seen


def workflow_codes_of(operation_id: str, status: str) -> list[int]:
    validator = CONTRACT.operations[operation_id].responses[status]
    names = referenced_components(validator.schema) if validator else set()
    return sorted(int(n[len("WorkflowError"):]) for n in names if re.fullmatch(r"WorkflowError\d+", n))


def legacy_codes_of(operation_id: str, status: str) -> list[int]:
    validator = CONTRACT.operations[operation_id].responses[status]
    names = referenced_components(validator.schema) if validator else set()
    return sorted(CONTRACT.legacy_item_errors) if "LegacyItemFailure" in names else []


ERROR_RESPONSES = [(oid, status) for oid, op in sorted(CONTRACT.operations.items())
                   for status in sorted(op.responses) if ERROR_STATUS.match(status)]


def test_every_workflow_code_is_on_some_operation():
    used = {code for oid, status in ERROR_RESPONSES for code in workflow_codes_of(oid, status)}
    assert set(CONTRACT.workflow_errors) <= used, sorted(set(CONTRACT.workflow_errors) - used)


# Issue 2: the HTTP status a client expects, for the code the documents give that meaning.
EXPECTED_CODE_FOR_STATUS = {"401": [2013], "403": [2001], "404": [2007], "409": [2002]}


@pytest.mark.parametrize("operation_id", [*(e[k] for e in CONTRACT.request_types.values()
                                             for k in ("createOperationId", "decideOperationId")),
                                          "getRequest", "listRequests"])
def test_workflow_statuses_carry_the_code_of_their_meaning(operation_id: str):
    op = CONTRACT.operations[operation_id]
    for status, codes in EXPECTED_CODE_FOR_STATUS.items():
        if status in op.responses:
            assert workflow_codes_of(operation_id, status) == codes, (operation_id, status)
    assert workflow_codes_of(operation_id, "400"), f"{operation_id} 400 names no documented code"


def _workflow_body(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": message}]}


def _legacy_body(code: int, message: str) -> dict[str, Any]:
    item = {"id": "1", "type": "GOODWILL", "base_type": "POINTS",
            "item_status": {"success": "false", "code": code, "message": message}}
    status = {"success": "false", "code": 500, "message": "All requests have failed due to errors"}  # seed 000
    return {"response": {"status": status, "requests": {"request": [item]}}}


CATALOGUE_CASES = [
    pytest.param(oid, status, code, build, id=f"{oid}-{status}-{code}")
    for oid, status in ERROR_RESPONSES
    for codes, build in ((workflow_codes_of(oid, status), _workflow_body), (legacy_codes_of(oid, status), _legacy_body))
    for code in codes
]


def _message(code: int) -> str:
    return CONTRACT.workflow_errors.get(code) or CONTRACT.legacy_item_errors[code]


@pytest.mark.parametrize("operation_id,status,code,build", CATALOGUE_CASES)
def test_error_response_built_from_the_catalogue_validates_and_a_wrong_message_fails(operation_id, status, code, build):
    validator = CONTRACT.operations[operation_id].responses[status]
    message = _message(code)
    assert validator.is_valid(build(code, message)), validator.violations(build(code, message))
    assert not validator.is_valid(build(code, message + " ")), "a message with trailing text was accepted"
    assert not validator.is_valid(build(code, message.upper())), "a message in other case was accepted"
    other = next(m for c, m in sorted({**CONTRACT.workflow_errors, **CONTRACT.legacy_item_errors}.items())
                 if m != message)
    assert not validator.is_valid(build(code, other)), "another code's message was accepted"


def test_every_operation_with_error_responses_is_covered():
    covered = {(p.values[0], p.values[1]) for p in CATALOGUE_CASES}
    print(f"\n{len(CATALOGUE_CASES)} (operation, status, code) error responses built from the catalogue")
    for oid, status in ERROR_RESPONSES:
        tags = CONTRACT.operations[oid].raw.get("tags", [])
        if "workflow" in tags or ("legacy" in tags and status == "400"):
            assert (oid, status) in covered, f"{oid} {status} names no documented code"
