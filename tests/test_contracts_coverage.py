"""Coverage of `contracts run` (issue 13): a run of the default phases against a fresh mock reaches
every transition of the lifecycle table and every state per type, and its reports say so; the
gate fails a run below --min-coverage; a target that is not the mock gets nothing mock-only and
its unreachable cells are reported unreached; the named flows replay exactly with --seed; the
HTML page is read in a real Chromium. Every expected set comes from the contract, never a list.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.wrappers import Request

from capillary_contract import lifecycle
from capillary_contract.loader import load_contract
from contracts.cli import main
from contracts.run import coverage
from contracts.run.flows import PHASE as FLOWS
from contracts.run.runner import RunOptions, run
from contracts.run.transport import MOCK_ONLY_HEADER
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

CONTRACT = load_contract()
STATES = sorted({lifecycle.PENDING, *lifecycle.TERMINAL})
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _run(tmp_path: Path, base_url: str, **options: Any) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    code = run(RunOptions(base_url=base_url, report=str(report), **options))
    return code, json.loads(report.read_text())


class Recorder:
    """A WSGI wrapper that keeps every request the suite sent (method, path, headers, body)."""

    def __init__(self, app: Callable, hide_admin: bool = False):
        self.app, self.hide_admin, self.seen = app, hide_admin, []
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data()
        environ["wsgi.input"] = io.BytesIO(body)  # the mock reads the body again
        environ["CONTENT_LENGTH"] = str(len(body))
        with self._lock:
            self.seen.append((request.method, request.full_path, dict(request.headers), body))
        if self.hide_admin and request.path.startswith("/__admin/"):  # a deployment has no admin API
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"errors": [{"code": 404, "message": "not found"}]}']
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Iterator[tuple[int, dict[str, Any], Path]]:
    """One run of the default phases (fewer generated examples) against a fresh mock, with every output."""
    out = tmp_path_factory.mktemp("coverage")
    with serve_in_thread(MockConfig(db=str(out / "state.db"), strict=True, dispatch=False)) as mock:
        code = run(RunOptions(base_url=mock.base_url, max_examples=2, seed=13, report=str(out / "report.json"),
                              junit_xml=str(out / "junit.xml"), html=str(out / "coverage.html")))
    yield code, json.loads((out / "report.json").read_text()), out


def test_a_default_run_reaches_every_transition_and_state(default_run):
    code, report, _ = default_run
    cov = report["coverage"]
    transitions = cov["dimensions"]["transitions"]
    assert code == 0, json.dumps(report["failures"], indent=1)[:3000]
    assert transitions["percent"] == 100.0, [c["label"] for c in transitions["cells"] if not c["count"]]
    assert transitions["total"] == len(coverage.transition_cells(CONTRACT))
    assert {c["group"] for c in transitions["cells"]} == set(CONTRACT.request_types)
    assert cov["states"] == {t: STATES for t in sorted(CONTRACT.request_types)}
    statuses = cov["dimensions"]["statuses"]
    for op in coverage.covered_operations(CONTRACT):  # every body-taking operation was sent 413 and 415
        for status in {"413", "415"} & set(op.raw["responses"]):
            assert any(c["group"] == op.operation_id and c["column"] == status and c["count"] for c in statuses["cells"])
    unprovokable = [c for c in statuses["cells"] if c.get("unprovokable")]
    assert unprovokable and all(c["column"] == "500" for c in unprovokable)
    assert "events" not in cov["dimensions"]  # only with --webhook-listen


def test_every_flow_is_a_junit_testcase_and_coverage_its_properties(default_run):
    _, report, out = default_run
    root = ET.parse(out / "junit.xml").getroot()
    flows = root.find(f"testsuite[@name='{FLOWS}']")
    names = [case.get("name") for case in flows.findall("testcase")]
    assert len(names) == len(set(names)) >= 3 * len(CONTRACT.request_types)
    assert all(case.find("failure") is None for case in flows.findall("testcase"))
    assert any("maker submits → checker approves → approved; deciding again is 409" in n for n in names)
    props = {p.get("name"): p.get("value") for p in root.find("properties")}
    assert props["coverage.transitions"] == "100.0"
    assert float(props["coverage"]) == report["coverage"]["percent"]


def test_the_html_page_shows_the_red_cells_in_chromium(default_run):
    _, report, out = default_run
    cov = report["coverage"]
    red = sorted(c["label"] for dim in cov["dimensions"].values() for c in dim["cells"]
                 if not c["count"] and not c.get("unprovokable") and not c.get("unreached"))
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            fetched: list[str] = []
            page.on("request", lambda r: fetched.append(r.url))
            page.goto((out / "coverage.html").as_uri())
            page.screenshot(path=str(out / "coverage.png"), full_page=True)
            assert page.locator("#overall").inner_text() == f"{cov['percent']}%"
            shown_red = sorted(page.locator(".miss").evaluate_all("cells => cells.map(c => c.dataset.cell)"))
            assert shown_red == red
            background = page.locator(".miss").first.evaluate("c => getComputedStyle(c).backgroundColor") if red else None
            assert background in (None, "rgb(229, 57, 53)")
            green = page.locator("[data-dimension='transitions'] td.hit")
            assert green.count() == cov["dimensions"]["transitions"]["total"]
            assert page.locator("[data-dimension='transitions'] td.miss").count() == 0
            assert page.locator("#states").inner_text().count("failed") == len(CONTRACT.request_types)
            assert fetched == [(out / "coverage.html").as_uri()]  # self-contained: nothing else is fetched
        finally:
            browser.close()


def test_the_gate_fails_a_run_below_the_minimum_and_lists_the_gaps(tmp_path, capsys):
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False)) as mock:
        below = main(["run", "--base-url", mock.base_url, "--phases", "probes", "--seed", "3", "--min-coverage", "90",
                      "--report", str(tmp_path / "below.json"), "--junit-xml", str(tmp_path / "below.xml")])
        shown = capsys.readouterr().out
        above = main(["run", "--base-url", mock.base_url, "--phases", "probes", "--seed", "3", "--min-coverage", "1"])
        one_dimension = main(["run", "--base-url", mock.base_url, "--phases", "probes", "--seed", "3",
                              "--min-coverage", "1", "--min-coverage", "transitions=100",
                              "--report", str(tmp_path / "dimension.json")])
        refused = [main(["run", "--base-url", mock.base_url, "--min-coverage", value])
                   for value in ("101", "paths=50", "lots")]
        refused.append(main(["run", "--base-url", mock.base_url, "--html", str(tmp_path / "no-such-dir" / "c.html")]))
    report = json.loads((tmp_path / "below.json").read_text())
    gaps = [f for f in report["failures"] if f["check"] == "min_coverage"]
    transitions = report["coverage"]["dimensions"]["transitions"]
    assert below == 1 and above == 0 and one_dimension == 1 and refused == [2, 2, 2, 2]
    by_dimension = json.loads((tmp_path / "dimension.json").read_text())
    assert [f["operation"] for f in by_dimension["failures"] if f["check"] == "min_coverage"] == ["transitions"]
    assert transitions["percent"] < 90 and any(f["operation"] == "transitions" for f in gaps)
    missing = next(c["label"] for c in transitions["cells"] if not c["count"])
    assert missing in next(f["message"] for f in gaps if f["operation"] == "transitions")
    assert "coverage:" in shown and "not reached" in shown
    root = ET.parse(tmp_path / "below.xml").getroot()
    gate = {case.get("name"): case.find("failure") is not None for case in root.findall("testsuite[@name='coverage']/testcase")}
    assert gate["min_coverage transitions"] and "min_coverage overall" in gate


def test_a_target_that_is_not_the_mock_gets_nothing_mock_only(tmp_path):
    """With the run's own credentials and no admin API, failed wrapped calls cannot be forced: they are
    reported unreached with the reason, and no request carries a mock-only header."""
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False)) as mock:
        recorder = Recorder(mock.app.wsgi_app, hide_admin=True)
        mock.app.wsgi_app = recorder
        code, report = _run(tmp_path, mock.base_url, maker_auth="basic:maker:maker", checker_auth="basic:checker:checker",
                            phases=("probes", "flows", "fuzz"), max_examples=3, seed=5)
    from contracts.fixtures.lifecycle import FORCE_FAILURE  # the header the flows force a failure with on the mock

    assert FORCE_FAILURE and all(name.lower().startswith(MOCK_ONLY_HEADER) for name in FORCE_FAILURE)  # one to hold back
    assert not [h for _, _, headers, _ in recorder.seen for h in headers if h.lower().startswith(MOCK_ONLY_HEADER)]
    cells = report["coverage"]["dimensions"]["transitions"]["cells"]
    failed = [c for c in cells if c["column"].endswith(f"→ {lifecycle.FAILED}") and "approve (checker)" in c["column"]]
    assert failed and all(c["count"] == 0 and "X-Mock-Outcome" in c["unreached"] for c in failed)
    assert all(c.get("unreached") for c in cells if "no permission" in c["column"] and not c["count"])
    assert code == 0, json.dumps(report["failures"], indent=1)[:2000]


def _flow_requests(recorder: Recorder) -> list[tuple[str, str, str]]:
    """What the suite sent, with the mock's own request ids numbered in order of appearance."""
    ids: dict[str, str] = {}

    def stable(text: str) -> str:
        return UUID.sub(lambda m: ids.setdefault(m.group(0), f"id{len(ids)}"), text)

    return [(method, stable(path), stable(body.decode("utf-8", "replace"))) for method, path, _, body in recorder.seen
            if not path.startswith("/__admin/")]


def test_the_flows_replay_exactly_with_the_same_seed(tmp_path):
    sent = []
    for attempt in range(2):
        with serve_in_thread(MockConfig(db=str(tmp_path / f"state{attempt}.db"), dispatch=False)) as mock:
            recorder = Recorder(mock.app.wsgi_app)
            mock.app.wsgi_app = recorder
            code, _ = _run(tmp_path, mock.base_url, phases=("flows",), seed=21)
        assert code == 0
        sent.append(_flow_requests(recorder))
    assert sent[0] == sent[1] and len(sent[0]) > 10 * len(CONTRACT.request_types)


def test_with_webhook_listen_every_event_transition_is_counted(tmp_path):
    from capillary_contract.http import free_port

    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"))) as mock:
        code, report = _run(tmp_path, mock.base_url, phases=("flows",), seed=17, webhook_listen=free_port(),
                            webhook_wait=10.0)
    events = report["coverage"]["dimensions"]["events"]
    assert code == 0, json.dumps(report["failures"], indent=1)[:2000]
    assert events["total"] == len(coverage.event_cells(CONTRACT))
    assert {c["group"] for c in events["cells"]} == {e["eventName"] for e in CONTRACT.request_types.values()}
    assert events["percent"] == 100.0, [c["label"] for c in events["cells"] if not c["count"]]
