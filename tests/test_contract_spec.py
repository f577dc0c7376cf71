"""openapi.yaml is a valid OpenAPI 3.1 document with the shape issue 2 and DESIGN.md §3 promise.

Validity alone lets a spec forget an operationId, an error response or a security scheme;
these checks hold it to what the mock, the fuzzer and the users rely on.
"""
from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from capillary_contract.loader import DECIDE_ROLE, load_contract, walk_nodes
from mockserver.admin import ADMIN_DOCUMENT

CONTRACT = load_contract()
SPEC = CONTRACT.spec
ADMIN = load_contract(ADMIN_DOCUMENT, shared=CONTRACT)
# The path operations (the webhook is the receiver's operation, not ours).
PATH_OPERATIONS = {oid: op for oid, op in CONTRACT.operations.items() if not op.path.startswith("webhook:")}
# DESIGN.md §3, "Admin API" (a promise to users; tests/test_design_promises.py checks the mock serves it).
ADMIN_OPERATIONS = {
    ("get", "/__admin/health"), ("post", "/__admin/reset"), ("get", "/__admin/journal"),
    ("get", "/__admin/events"), ("post", "/__admin/subscriptions"), ("post", "/__admin/faults"),
}


_resolve = CONTRACT.resolve  # follows local $refs through the whole spec


def test_spec_is_valid_openapi_3_1():
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC, cls=OpenAPIV31SpecValidator)


def test_spec_names_no_json_schema_dialect():
    """Prism validates no request body at all under a root `jsonSchemaDialect` (issue 10)."""
    with open(CONTRACT.source, encoding="utf-8") as handle:
        assert "jsonSchemaDialect" not in yaml.safe_load(handle)


def test_admin_document_is_valid_openapi_3_1_as_written_and_as_served():
    with open(ADMIN_DOCUMENT, encoding="utf-8") as handle:
        written = yaml.safe_load(handle)
    validate(written, base_uri=ADMIN_DOCUMENT.resolve().as_uri(), cls=OpenAPIV31SpecValidator)
    validate(ADMIN.spec, cls=OpenAPIV31SpecValidator)  # external $refs inlined: stands alone
    assert not [p for p, n in walk_nodes(ADMIN.spec) if isinstance(n.get("$ref"), str) and not n["$ref"].startswith("#")]


def test_capillary_s_contract_holds_nothing_of_the_mock():
    assert not [p for p in SPEC["paths"] if p.startswith("/__admin") or p == "/openapi.yaml"]
    assert "admin" not in {t["name"] for t in SPEC.get("tags", [])}
    assert "X-Mock-Outcome" not in {n.get("name") for _, n in walk_nodes(SPEC["paths"])}


def test_every_operation_has_a_unique_operation_id():
    ids = []
    for item in [*SPEC["paths"].values(), *SPEC["webhooks"].values()]:
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                assert op.get("operationId"), f"{method} without operationId"
                ids.append(op["operationId"])
    assert len(ids) == len(set(ids)) == len(CONTRACT.operations)


def _expected_4xx(op) -> set[str]:
    """The client errors an operation must document, from what it takes and who may call it."""
    raw = op.raw
    expected = set()
    takes_input = raw.get("requestBody") or any(p.location != "header" or p.required for p in op.parameters)
    if takes_input:
        expected.add("400")
    if raw.get("security", SPEC.get("security")):
        expected.add("401")
    if "workflow" in raw.get("tags", []):
        expected.add("403")  # CanMakeRequest / CanCheckRequest
    if raw.get("requestBody") and "admin" not in raw.get("tags", []):
        expected.add("413")
    decide = (CONTRACT.workflow_role(op.operation_id) or ("",))[0] == DECIDE_ROLE
    if any(p.name == "requestId" and p.location == "path" for p in op.parameters) or decide:
        expected.add("404")
    if decide:
        expected.add("409")
    return expected


@pytest.mark.parametrize("operation_id", sorted(PATH_OPERATIONS))
def test_operation_documents_its_client_errors(operation_id):
    op = PATH_OPERATIONS[operation_id]
    documented = set(op.raw["responses"])
    missing = _expected_4xx(op) - documented
    assert not missing, f"{operation_id} does not document {sorted(missing)}"
    for status in documented:
        if status.startswith("4"):
            assert op.responses[status] is not None, f"{operation_id} {status} has no JSON schema"


def test_workflow_and_legacy_operations_are_counted():
    tags = {}
    for op in PATH_OPERATIONS.values():
        for tag in op.raw.get("tags", []):
            tags.setdefault(tag, set()).add(op.operation_id)
    per_type = {e[k] for e in CONTRACT.request_types.values() for k in ("createOperationId", "decideOperationId")}
    assert tags["workflow"] == per_type | {"getRequest", "listRequests"}
    assert len(tags["legacy"]) == 5
    print(f"\n{len(CONTRACT.operations)} operations ({len(PATH_OPERATIONS)} paths + webhooks): "
          + ", ".join(f"{t} {len(ids)}" for t, ids in sorted(tags.items())))


def test_the_three_security_schemes_exist():
    schemes = SPEC["components"]["securitySchemes"].values()
    assert any(s["type"] == "http" and s["scheme"].lower() == "basic" for s in schemes)
    headers = {s["name"] for s in schemes if s["type"] == "apiKey" and s["in"] == "header"}
    assert {"X-CAP-UI-AUTH-TOKEN", "X-CAP-API-AUTH-ORG-ID"} <= headers


def test_workflow_operations_accept_basic_or_ui_token_with_org_header():
    by_header = {name: s.get("name") for name, s in SPEC["components"]["securitySchemes"].items()}
    for op in PATH_OPERATIONS.values():
        if "workflow" not in op.raw["tags"]:
            continue
        alternatives = [{by_header[name] or name for name in requirement} for requirement in op.raw["security"]]
        basic = [n for n, s in SPEC["components"]["securitySchemes"].items() if s["type"] == "http"][0]
        assert {basic, "X-CAP-API-AUTH-ORG-ID"} in alternatives, op.operation_id
        assert {"X-CAP-UI-AUTH-TOKEN", "X-CAP-API-AUTH-ORG-ID"} in alternatives, op.operation_id


def test_request_workflow_event_is_a_3_1_webhook():
    hook = SPEC["webhooks"]["requestWorkflowEvent"]["post"]
    assert hook["requestBody"]["required"] is True
    assert CONTRACT.webhook().body is not None


def test_admin_operations_of_design_section_3_exist_with_tag_admin():
    for method, path in ADMIN_OPERATIONS | {("get", "/openapi.yaml"), ("get", "/__admin/openapi.yaml")}:
        op = ADMIN.spec["paths"].get(path, {}).get(method)
        assert op is not None, f"{method.upper()} {path} missing"
        assert op.get("tags") == ["admin"], f"{method.upper()} {path} tags {op.get('tags')}"


def test_each_request_type_has_its_own_path_with_create_and_decide():
    """The type <-> body pairing is in the paths themselves, so every OpenAPI tool sees it."""
    assert not [p for p in SPEC["paths"] if "{requestType}" in p]
    for url_name, entry in CONTRACT.request_types.items():
        assert entry["path"] == f"/api_gateway/v2/request-workflow/{url_name}"
        create, decide = CONTRACT.create_operation(url_name), CONTRACT.decide_operation(url_name)
        assert (create.method, decide.method) == ("post", "put") and create.path == decide.path == entry["path"]
        body = create.raw["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{entry['schemaName']}"}
        assert body["examples"], f"{url_name}: a create example, for Prism, Swagger UI and Schemathesis"
        assert CONTRACT.workflow_role(create.operation_id) == ("create", url_name)
        assert CONTRACT.workflow_role(decide.operation_id) == ("decide", url_name)


def test_restated_type_enums_list_exactly_the_table():
    """Other tools read the enums as written; the kit derives them from `x-request-types`."""
    restated = CONTRACT.restated_enums + ADMIN.restated_enums
    assert len(CONTRACT.restated_enums) == 3 and ADMIN.restated_enums
    for pointer, written, derived in restated:
        assert written == derived, pointer


def test_request_types_are_the_six_documented_types():
    assert sorted(CONTRACT.request_types) == sorted([
        "CUSTOMER-STATUS-CHANGE", "POINTS-REDEMPTION", "GOODWILL-POINTS",
        "EARN-BADGE", "ISSUE-BADGE", "RETRO-TRANSACTION"])
