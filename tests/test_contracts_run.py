"""`contracts run` end to end: the real mock on 127.0.0.1 passes; deliberately broken servers
(a WSGI wrapper in front of the same mock) fail, each with the broken rule named.

Each broken variant runs only the phases that reach its fault, with few examples, so the whole
file stays within seconds; the conformant mock gets every phase.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from contracts.run.runner import RunOptions, run
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

from capillary_contract.examples import documented_bodies
from capillary_contract.loader import load_contract

CONTRACT = load_contract()
V2 = "/api_gateway/v2/request-workflow/"
MAKER = {"Authorization": "Basic bWFrZXI6bWFrZXI=", "X-CAP-API-AUTH-ORG-ID": "51250"}      # maker:maker
CHECKER = {"Authorization": "Basic Y2hlY2tlcjpjaGVja2Vy", "X-CAP-API-AUTH-ORG-ID": "51250"}  # checker:checker


# -- a broken server: the mock behind a WSGI wrapper that changes one behaviour ------------------
Forward = Callable[..., Response]


def breaking(app: Any, mutate: Callable[[Request, Forward], Response]) -> Callable:
    def wsgi(environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        raw = request.get_data()

        def forward(headers: dict[str, str] | None = None, data: bytes | None = None, query: str | None = None) -> Response:
            builder = EnvironBuilder(method=request.method, path=request.path,
                                     query_string=request.query_string.decode() if query is None else query,
                                     headers={**dict(request.headers), **(headers or {})},
                                     data=raw if data is None else data)
            return Response.from_app(app, builder.get_environ())

        return mutate(request, forward)(environ, start_response)

    return wsgi


def json_answer(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def edit_data(edit: Callable[[dict], None]) -> Callable[[Request, Forward], Response]:
    """Apply `edit` to every request object a v2 answer carries."""
    def mutate(request: Request, forward: Forward) -> Response:
        answer = forward()
        body = answer.get_json(silent=True)
        if not request.path.startswith(V2) or not isinstance(body, dict) or "data" not in body:
            return answer
        items = body["data"] if isinstance(body["data"], list) else [body["data"]]
        for item in items:
            edit(item)
        return json_answer(answer.status_code, body)
    return mutate


def rename_state(item: dict) -> None:
    if item.get("state") == "AdminTask":
        item["state"] = "PENDING"


def drop_end_time(item: dict) -> None:
    item.pop("endTime", None)


def scream_type(item: dict) -> None:
    item["requestType"] = str(item.get("requestType")).upper().replace("-", "_")


def forget_checker_step(item: dict) -> None:
    (item.get("details") or {}).pop("AdminTask-Payload", None)


def second_approval(request: Request, forward: Forward) -> Response:
    answer = forward()
    if request.method == "PUT" and answer.status_code == 409:
        rid = json.loads(request.get_data())["requestId"]
        builder = EnvironBuilder(method="GET", path=f"{V2}requests/{rid}", headers=CHECKER)
        return Response.from_app(_APP[0], builder.get_environ())
    return answer


def cross_org_leak(request: Request, forward: Forward) -> Response:
    answer = forward()
    if answer.status_code == 404 and request.method in ("GET", "PUT"):
        return forward(headers=CHECKER)
    return answer


def self_approval(request: Request, forward: Forward) -> Response:
    answer = forward()
    if request.method == "PUT" and answer.status_code == 403:
        return forward(headers=CHECKER)
    return answer


def accept_invalid_body(request: Request, forward: Forward) -> Response:
    answer = forward()
    url_name = request.path.rsplit("/", 1)[-1]
    if request.method == "POST" and answer.status_code == 400 and url_name in CONTRACT.request_types:
        return forward(data=json.dumps(documented_bodies(CONTRACT)[url_name]).encode(),
                       headers={"Content-Type": "application/json", "X-CAP-API-AUTH-ORG-ID": "51250"})
    return answer


def make_stale_reads() -> Callable[[Request, Forward], Response]:
    cache: dict[str, tuple[int, bytes]] = {}

    def mutate(request: Request, forward: Forward) -> Response:
        if request.method == "GET" and request.path.startswith(V2 + "requests/"):
            key = request.path
            if key in cache:
                status, data = cache[key]
                return Response(data, status=status, mimetype="application/json")
            answer = forward()
            if answer.status_code == 200:
                cache[key] = (200, answer.get_data())
            return answer
        return forward()
    return mutate


def wrong_message(request: Request, forward: Forward) -> Response:
    answer = forward()
    body = answer.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for entry in body["errors"]:
            if entry.get("code") == 2002:
                entry["message"] = "Request already completed."
        return json_answer(answer.status_code, body)
    return answer


def list_ignores_states(request: Request, forward: Forward) -> Response:
    if request.path == V2 + "requests" and "states" in request.args:
        query = "&".join(f"{k}={v}" for k, v in request.args.items() if k != "states")
        return forward(query=query)
    return forward()


def server_error_on_unknown_type(request: Request, forward: Forward) -> Response:
    answer = forward()
    body = answer.get_json(silent=True)
    if isinstance(body, dict) and any(e.get("code") == 2009 for e in body.get("errors") or []):
        return Response("Internal Server Error", status=500, mimetype="text/html")
    return answer


def decide_through_any_type(request: Request, forward: Forward) -> Response:
    """A decision is applied whatever type the URL names (the URL's type is not checked)."""
    answer = forward()
    if request.method == "PUT" and answer.status_code == 404:
        rid = (json.loads(request.get_data() or b"{}") or {}).get("requestId")
        builder = EnvironBuilder(method="GET", path=f"{V2}requests/{rid}", headers=CHECKER)
        found = Response.from_app(_APP[0], builder.get_environ()).get_json(silent=True) or {}
        kind = (found.get("data") or {}).get("requestType")
        if kind:
            url_type = kind.upper()
            builder = EnvironBuilder(method="PUT", path=V2 + url_type, headers=dict(request.headers),
                                     data=request.get_data())
            return Response.from_app(_APP[0], builder.get_environ())
    return answer


def ignores_unknown_parameters(request: Request, forward: Forward) -> Response:
    """Undeclared query parameters are dropped silently instead of refused."""
    if request.method == "GET" and request.path == V2 + "requests" and "pageNo" in request.args:
        return forward(query="&".join(f"{k}={v}" for k, v in request.args.items() if k != "pageNo"))
    return forward()


def legacy_decides_twice(request: Request, forward: Forward) -> Response:
    """A decided v1.1 request answers a second decision as if it succeeded."""
    answer = forward()
    body = answer.get_json(silent=True)
    items = (((body or {}).get("response") or {}).get("requests") or {}).get("request") if isinstance(body, dict) else None
    if request.path.startswith("/v1.1/request/") and isinstance(items, list):
        for item in items:
            if (item.get("item_status") or {}).get("code") == 9052:
                item["item_status"] = {"success": "true", "code": 9000, "message": "Request updated successfully"}
        return json_answer(answer.status_code, body)
    return answer


_APP: list[Any] = []

# name -> (mutate factory, phases to run, checks of which at least one must be named)
VARIANTS: dict[str, tuple[Callable[[], Callable], str, set[str]]] = {
    "renamed_state": (lambda: edit_data(rename_state), "probes", {"response_schema_conformance"}),
    "dropped_field": (lambda: edit_data(drop_end_time), "probes", {"response_schema_conformance"}),
    "screaming_request_type": (lambda: edit_data(scream_type), "probes", {"create_every_type", "response_schema_conformance"}),
    "details_not_grown": (lambda: edit_data(forget_checker_step), "probes", {"details_growth"}),
    "second_approval_accepted": (lambda: second_approval, "probes", {"decided_once"}),
    "leaks_across_orgs": (lambda: cross_org_leak, "probes", {"org_isolation"}),
    "maker_approves_own": (lambda: self_approval, "probes", {"maker_is_not_checker"}),
    "stale_reads": (make_stale_reads, "probes", {"decided_once", "read_agrees_with_model"}),
    "wrong_error_message": (lambda: wrong_message, "probes", {"decided_once"}),
    "list_ignores_states": (lambda: list_ignores_states, "machine", {"list_filters_and_pages"}),
    "accepts_invalid_body": (lambda: accept_invalid_body, "fuzz", {"negative_data_rejection", "documented_error_code"}),
    "server_error": (lambda: server_error_on_unknown_type, "fuzz", {"not_a_server_error"}),
    "decides_through_any_type": (lambda: decide_through_any_type, "probes", {"decision_names_the_type"}),
    "ignores_unknown_parameters": (lambda: ignores_unknown_parameters, "probes", {"refuses_what_is_not_documented"}),
    "legacy_decides_twice": (lambda: legacy_decides_twice, "probes", {"legacy_decided_once"}),
}


def _run(base_url: str, tmp_path, phases: str, max_examples: int = 5, **extra: Any) -> tuple[int, dict]:
    path = tmp_path / "report.json"
    code = run(RunOptions(base_url=base_url, max_examples=max_examples, seed=7, report=str(path),
                          junit_xml=str(tmp_path / "junit.xml"), phases=tuple(phases.split(",")), **extra))
    return code, json.loads(path.read_text())


# Disagreements between the mock and openapi.yaml that the suite found and that are reported to
# their owners; each is (check, operation prefix, why). Remove an entry once it is fixed (all found
# so far were: v1.1 missing, 2008 instead of 2023 for non-string wrapped headers, unbounded userId).
KNOWN_GAPS: list[tuple[str, str, str]] = []


def _unexplained(report: dict) -> list[dict]:
    return [f for f in report["failures"]
            if not any(f["check"] == c and f["operation"].startswith(p) for c, p, _ in KNOWN_GAPS)]


def test_the_mock_is_conformant(tmp_path):
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False)) as mock:
        code, report = _run(mock.base_url, tmp_path, "probes,machine,fuzz", max_examples=10)
    assert _unexplained(report) == [], json.dumps(_unexplained(report), indent=1)[:3000]
    assert report["cases"] > 100 and report["seed"] == 7
    assert (tmp_path / "junit.xml").exists()
    assert code == 0


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_broken_server_is_caught(tmp_path, variant):
    factory, phases, expected = VARIANTS[variant]
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False)) as mock:
        _APP[:] = [mock.app.wsgi_app]
        mock.app.wsgi_app = breaking(mock.app.wsgi_app, factory())
        code, report = _run(mock.base_url, tmp_path, phases)
    named = {f["check"] for f in report["failures"]}
    assert code == 1
    assert named & expected, f"{variant}: expected one of {expected}, got {named}"
    repro = next(f for f in report["failures"] if f["check"] in expected).get("reproduction")
    assert repro is None or repro["curl"].startswith("curl -X")


def test_flows_still_approve_on_a_target_whose_documented_references_are_spent(tmp_path):
    """A target that served earlier runs has used up the documented `external_reference_number`:
    every approval with it ends failed (744). The flows give each body fresh values in the fields
    the contract marks `x-used-once`, so approving still ends approved (it was an intermittent
    'no POINTS-REDEMPTION request ended approved' against a long-lived mock)."""
    import requests

    from mock_support import auth, decision
    from mockserver.store import ListQuery

    contract, rtype = load_contract(), "POINTS-REDEMPTION"
    documented = documented_bodies(contract)[rtype]
    spent = documented["payload"]["IntouchAPITask-Payload"]["body"]["root"]["redeem"]["external_reference_number"]
    path = contract.create_path(rtype)
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False)) as mock:
        for expected in ("approved", "failed"):  # the documented reference is used up by the first
            created = requests.post(mock.base_url + path, json=documented, headers=auth("maker"), timeout=10).json()
            decided = requests.put(mock.base_url + path, json=decision(created["data"]["requestId"]),
                                   headers=auth("checker"), timeout=10).json()
            assert decided["data"]["state"] == expected
        code, report = _run(mock.base_url, tmp_path, "flows")
        with mock.app.extensions["mockserver"].store.read() as reader:
            approved, _ = reader.list_requests(ListQuery(org_id=51250, url_type=rtype, states=("approved",), limit=100))
    assert code == 0, json.dumps(report["failures"], indent=1)[:3000]
    references = [r["details"]["IntouchAPITask-Payload"]["body"]["root"]["redeem"].get("external_reference_number")
                  for r in approved]
    assert any(str(ref).startswith(spent + "-") for ref in references), references
