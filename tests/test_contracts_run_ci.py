"""`contracts run` as CI uses it: byte-safe outputs and exact reproductions (replayed with bash and curl),
identities for every core rule, the preflight and exit codes, findings grouped by cause, lifecycle
failures as replayable steps, stable JUnit, line output, limits, signals, --include/--exclude, and
nothing mock-only sent to another target. Each test runs the real mock (or a wrapper breaking it) on
127.0.0.1 and few examples."""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from werkzeug.wrappers import Request, Response

from contracts.run.findings import Finding, mask
from contracts.run.report import Report
from contracts.run.reproduction import BodyFiles, exchange_of, script
from contracts.run.runner import EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE, EXIT_VIOLATIONS, RunOptions, run
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread
from test_contracts_run import CHECKER, MAKER, V2, _APP, accept_invalid_body, breaking, json_answer, second_approval

BIN = Path(sys.executable).parent
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
GIVEN = dict(maker_auth="basic:maker:maker", checker_auth="basic:checker:checker",
             supervisor_auth="basic:supervisor:supervisor", viewer_auth="basic:viewer:viewer",
             outsider_auth="basic:outsider:outsider", outsider_org="51251")


class Mock:
    """The mock on 127.0.0.1, optionally behind a WSGI wrapper that breaks one behaviour; it records
    every request that reaches it (method, path, headers)."""

    def __init__(self, tmp_path: Path, mutate: Callable | None = None):
        self.tmp_path, self.mutate, self.seen = tmp_path, mutate, []

    def __enter__(self) -> "Mock":
        self._served = serve_in_thread(MockConfig(db=str(self.tmp_path / "state.db"), dispatch=False))
        mock = self._served.__enter__()
        self.base_url = mock.base_url
        app = mock.app.wsgi_app
        _APP[:] = [app]
        inner = breaking(app, self.mutate) if self.mutate else app

        def recording(environ: dict, start_response: Callable) -> Any:
            request = Request(environ)
            self.seen.append((request.method, request.path, dict(request.headers)))
            return inner(environ, start_response)

        mock.app.wsgi_app = recording
        return self

    def __exit__(self, *exc: Any) -> None:
        self._served.__exit__(*exc)


def _run(mock: Mock, tmp_path: Path, phases: str = "probes", stream: Any = None, **extra: Any) -> tuple[int, dict, str]:
    out = io.StringIO()
    options = dict(base_url=mock.base_url, max_examples=3, seed=3, report=str(tmp_path / "report.json"),
                   junit_xml=str(tmp_path / "junit.xml"), phases=tuple(phases.split(",")))
    code = run(RunOptions(**{**options, **extra}), out=out, stream=stream or io.StringIO())
    path = Path(extra.get("report", tmp_path / "report.json"))
    return code, (json.loads(path.read_text()) if path.exists() else {}), out.getvalue()


def _junit(tmp_path: Path) -> ET.Element:
    return ET.parse(tmp_path / "junit.xml").getroot()  # an XML parser: the file is well-formed


# -- 1. byte-safe outputs, exact reproductions -----------------------------------------------------
def garble_errors(request: Request, forward: Callable) -> Response:
    """Every error message carries a NUL, an escape sequence and a stray byte."""
    answer = forward()
    body = answer.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for entry in body["errors"]:
            entry["message"] = "bad\x00\x1b[31mred\x7f" + str(entry.get("message"))
        return json_answer(answer.status_code, body)
    return answer


def test_outputs_survive_control_characters(tmp_path):
    with Mock(tmp_path, garble_errors) as mock:
        code, report, console = _run(mock, tmp_path)
    assert code == EXIT_VIOLATIONS and report["failures"]
    assert not CONTROL.search(console), "the console summary carries raw control characters"
    raw = (tmp_path / "junit.xml").read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    failures = _junit(tmp_path).findall(".//failure")
    assert failures and any("\\x00" in (f.text or "") for f in failures)
    assert (tmp_path / "report.json").read_bytes().isascii()


def _replay(command: str, cwd: Path) -> tuple[int, bytes]:
    """Run a printed curl command with bash; its status and body."""
    done = subprocess.run(["bash", "-c", command + " -sS -o answer.bin -w '%{http_code}'"], cwd=cwd,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout), (cwd / "answer.bin").read_bytes()


@pytest.mark.parametrize("body", [
    b'{"entityInfo": "\x00", "payload": {}}',            # NUL: bash drops it from an argument
    b'{"a": "\xff\xfe not UTF-8 \x1b[2J"}',              # not UTF-8, and a terminal escape
    b'{"reason": "line one\nline two", "x": "\'quoted\'"}',
])
def test_a_reproduction_replayed_with_curl_gets_the_same_answer(tmp_path, body):
    with Mock(tmp_path) as mock:
        url = mock.base_url + V2 + "GOODWILL-POINTS"
        sent = requests.post(url, data=body, headers={**MAKER, "Content-Type": "application/json"}, timeout=10)
        exchange = exchange_of(sent)
        command = exchange.curl(BodyFiles(str(tmp_path / "files")))
        if b"\x00" in body or b"\xff" in body:
            assert "--data-binary @" in command  # a file carries what an argument cannot
        status, answer = _replay(command, tmp_path)
    assert status == sent.status_code == 400
    assert json.loads(answer) == sent.json()


# -- 2. identities for every core rule ---------------------------------------------------------------
def supervisor_approves_own(request: Request, forward: Callable) -> Response:
    """Four-eyes broken for users holding both permissions: a supervisor may decide its own request."""
    answer = forward()
    if request.method == "PUT" and answer.status_code == 403 and "c3VwZXJ2aXNvcjpzdXBlcnZpc29y" in \
            request.headers.get("Authorization", ""):
        return forward(headers=CHECKER)
    return answer


def test_four_eyes_is_checked_with_the_supervisor_not_the_maker(tmp_path):
    with Mock(tmp_path, supervisor_approves_own) as mock:
        code, report, _ = _run(mock, tmp_path, **GIVEN)
    assert code == EXIT_VIOLATIONS
    assert "maker_is_not_checker" in {f["check"] for f in report["failures"]}


def test_a_rule_without_its_identity_is_loud_and_skipped(tmp_path):
    with Mock(tmp_path) as mock:
        code, report, console = _run(mock, tmp_path, maker_auth=GIVEN["maker_auth"],
                                     checker_auth=GIVEN["checker_auth"])
    not_checked = {n["check"] for n in report["notChecked"]}
    assert {"maker_is_not_checker", "org_isolation", "no_permission"} <= not_checked
    assert "NOT CHECKED" in console and "--outsider-auth" in console
    skipped = {c.get("name") for c in _junit(tmp_path).iter("testcase") if c.find("skipped") is not None}
    assert {"maker_is_not_checker", "org_isolation", "no_permission"} <= skipped
    assert code == EXIT_OK


# -- 3. preflight and exit codes ----------------------------------------------------------------------
def test_refused_credentials_exit_2_before_any_case(tmp_path):
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path, phases="fuzz", maker_auth="basic:maker:wrong",
                               checker_auth=GIVEN["checker_auth"])
        sent = len(mock.seen)
    assert code == EXIT_UNUSABLE and report == {}
    assert sent == 1  # the preflight's one list call, nothing generated


def test_a_wrong_base_path_exits_2(tmp_path):
    with Mock(tmp_path) as mock:
        mock.base_url += "/not-the-api"
        code, _, _ = _run(mock, tmp_path)
    assert code == EXIT_UNUSABLE


def test_an_unwritable_report_exits_2_before_the_run(tmp_path, capsys):
    with Mock(tmp_path) as mock:
        code, _, _ = _run(mock, tmp_path, report=str(tmp_path / "no-such-folder" / "r.json"))
        sent = len(mock.seen)
    assert code == EXIT_UNUSABLE and sent == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_run_that_tests_nothing_is_not_conformant(tmp_path):
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path, phases="fuzz", exclude=["workflow", "legacy"])
    assert code == EXIT_UNUSABLE and report["exitCode"] == EXIT_UNUSABLE


def test_a_crash_of_the_suite_exits_3(tmp_path, monkeypatch):
    import contracts.run.probes as probes

    def crash(ctx: Any) -> None:
        raise RuntimeError("a bug in the suite")

    monkeypatch.setattr(probes, "run_probes", crash)
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path)
    assert code == EXIT_INTERNAL and report["internalErrors"]


def test_a_crash_while_drawing_cases_exits_3_with_its_traceback(tmp_path, monkeypatch):
    """Cases are drawn in generator processes: a bug there reaches the run as an internal error (with
    the generator's traceback), never as a shorter run or a hang."""
    import contracts.run.fuzz as fuzz

    def crash(ctx: Any, op_id: str, case: Any) -> None:
        raise RuntimeError("a bug while drawing")

    monkeypatch.setattr(fuzz, "_make_safe", crash)  # the forked generators inherit it
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path, phases="probes,fuzz")
    assert code == EXIT_INTERNAL and "a bug while drawing" in report["internalErrors"][0]
    assert multiprocessing.active_children() == []


# -- 4. findings grouped by cause, labels by template -------------------------------------------------
def test_mask_makes_one_cause_of_many_values():
    names = ("GOODWILL-POINTS", "goodwill-points", "EARN-BADGE", "earn-badge")
    a = mask("requestType 'X' for URL type GOODWILL-POINTS; documented: 'goodwill-points'", names)
    b = mask("requestType 'Y' for URL type EARN-BADGE; documented: 'earn-badge'", names)
    assert a == b
    assert mask("request 0f932928-9878-441c-a78e-c1d32235534a at /data/3/state") == mask(
        "request 11111111-9878-441c-a78e-c1d32235534a at /data/0/state")


def rename_pending(request: Request, forward: Callable) -> Response:
    answer = forward()
    body = answer.get_json(silent=True)
    if request.path.startswith(V2) and isinstance(body, dict) and "data" in body:
        items = body["data"] if isinstance(body["data"], list) else [body["data"]]
        for item in items:
            if item.get("state") == "AdminTask":
                item["state"] = "PENDING"
        return json_answer(answer.status_code, body)
    return answer


def test_one_cause_across_phases_is_one_problem(tmp_path):
    with Mock(tmp_path, rename_pending) as mock:
        code, report, console = _run(mock, tmp_path, phases="probes,machine")
    assert code == EXIT_VIOLATIONS
    state = [p for p in report["problems"] if p["cause"].endswith("/data/state")]
    assert len(state) == 1 and state[0]["count"] > 1 and set(state[0]["phases"]) == {"probes", "machine"}
    assert report["findingCount"] >= sum(p["count"] for p in report["problems"]) > len(report["problems"])
    assert console.startswith("TOP PROBLEMS")
    assert not any(UUID.search(f["operation"]) for f in report["failures"])
    assert all(f.get("reproduction") or f.get("steps") for f in report["failures"])  # every finding shows a request


# -- 5. lifecycle failures as replayable steps; what a phase could not exercise -------------------------
def test_a_lifecycle_failure_is_a_replayable_sequence(tmp_path):
    with Mock(tmp_path, second_approval) as mock:
        code, report, _ = _run(mock, tmp_path, phases="machine", max_examples=10)
        twice = next(f for f in report["failures"] if f["check"] == "decided_once")
        methods = [s["method"] for s in twice["steps"]]
        assert methods[0] == "POST" and methods[1:] == ["PUT", "PUT"]  # create -> decide -> decide again
        (tmp_path / "steps.sh").write_text(twice["script"])
        done = subprocess.run(["bash", str(tmp_path / "steps.sh")], capture_output=True, text=True, timeout=60)
    assert code == EXIT_VIOLATIONS
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("HTTP 200")  # the second decision accepted again: the bug, replayed
    assert "$id1" in twice["script"] and not UUID.search(twice["script"].split("python3")[1])


def test_a_machine_that_never_reaches_pending_says_so(tmp_path):
    with Mock(tmp_path, rename_pending) as mock:
        _, report, console = _run(mock, tmp_path, phases="machine")
    reasons = {n["check"]: n["why"] for n in report["notChecked"] if n["phase"] == "machine"}
    assert "ever reached AdminTask" in reasons["checker_approves"] and "checker_rejects" in reasons
    assert "NOT CHECKED" in console


# -- 6. stable JUnit ------------------------------------------------------------------------------------------
def test_junit_lists_passing_cases_with_stable_names(tmp_path):
    names = []
    with Mock(tmp_path) as mock:
        for seed in (1, 2):
            code, _, _ = _run(mock, tmp_path, phases="probes,fuzz", seed=seed, include=["listRequests", "getRequest",
                                                                                     "createRequest", "decideRequest"])
            assert code == EXIT_OK
            root = _junit(tmp_path)
            names.append({(c.get("classname"), c.get("name")) for c in root.iter("testcase")})
    assert names[0] == names[1] and len(names[0]) > 20
    assert {"create_every_type", "decided_once"} <= {n for _, n in names[0]}
    assert not any(UUID.search(n) for _, n in names[0])


def test_junit_failure_message_is_the_concrete_problem(tmp_path):
    with Mock(tmp_path, second_approval) as mock:
        _run(mock, tmp_path)
    root = _junit(tmp_path)
    cases = list(root.iter("testcase"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed and len(cases) > len(failed)  # passing cases are listed too
    message = next(c for c in failed if c.get("name") == "decided_once").find("failure").get("message")
    assert "expected HTTP 409" in message and "got HTTP 200" in message


# -- 7. CI ergonomics ----------------------------------------------------------------------------------------
def test_findings_stream_line_by_line_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    with Mock(tmp_path, second_approval) as mock:
        _run(mock, tmp_path, stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("preflight:") and "phase probes: started" in lines
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL [probes] decided_once"))
    assert fail < lines.index(next(line for line in lines if line.startswith("phase probes: ") and "cases" in line))


def test_max_failures_stops_the_run(tmp_path):
    with Mock(tmp_path, rename_pending) as mock:
        code, report, console = _run(mock, tmp_path, phases="probes,machine,fuzz", max_failures=1)
    assert code == EXIT_VIOLATIONS and report["stopped"] == "--max-failures 1 reached"
    assert "fuzz" not in report["phases"] and "STOPPED EARLY" in console
    assert multiprocessing.active_children() == []  # the fuzz generator that started with the run ended with it


def test_max_time_stops_the_run_with_a_verdict(tmp_path):
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path, phases="probes,fuzz", max_examples=1000, max_time=4)
    assert report["stopped"] == "--max-time reached" and code == EXIT_OK
    assert _junit(tmp_path).find(".//testcase") is not None


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_leaves_partial_reports(tmp_path, workers):
    """With forked workers too: each hands back what it found when the parent halts it."""
    with Mock(tmp_path) as mock:
        proc = subprocess.Popen([str(BIN / "contracts"), "run", "--base-url", mock.base_url, "--phases", "fuzz",
                                 "--max-examples", "1000", "--report", str(tmp_path / "r.json"),
                                 "--junit-xml", str(tmp_path / "junit.xml"), "--workers", workers],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:  # bounded: the run prints a heartbeat at least every 5 s
                if line.startswith("progress:") or line.startswith("FAIL"):
                    break
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stopped"] == "interrupted by SIGTERM" and report["cases"] > 0
    assert proc.returncode == EXIT_UNUSABLE
    assert _junit(tmp_path).find(".//testcase") is not None


def test_sigterm_during_the_machine_ends_with_partial_reports(tmp_path):
    """The machine runs Hypothesis off the main thread: a signal halts it at its next request and the
    run reports what it found (never an internal error raised from inside Hypothesis's engine)."""
    with Mock(tmp_path) as mock:
        proc = subprocess.Popen([str(BIN / "contracts"), "run", "--base-url", mock.base_url, "--phases", "machine",
                                 "--max-examples", "1000", "--report", str(tmp_path / "r.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:  # bounded: the run prints a heartbeat at least every 5 s
                if line.startswith("progress:") and "machine:" in line:
                    break
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stopped"] == "interrupted by SIGTERM" and report["phases"]["machine"]["cases"] > 0
    assert report["internalErrors"] == [] and "internal error" not in err
    assert proc.returncode == EXIT_UNUSABLE


def test_sigterm_to_the_process_group_keeps_what_the_workers_found(tmp_path):
    """A CI job's time-out signals every process of the run: the forked workers hand back their jobs'
    findings and cases too, instead of dying with them."""
    with Mock(tmp_path) as mock:
        proc = subprocess.Popen([str(BIN / "contracts"), "run", "--base-url", mock.base_url, "--phases", "fuzz",
                                 "--max-examples", "1000", "--report", str(tmp_path / "r.json"), "--workers", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            for line in proc.stderr:  # bounded: the run prints a heartbeat at least every 5 s
                if line.startswith("progress:") and "fuzz:" in line:
                    break
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stopped"] == "interrupted by SIGTERM" and report["phases"]["fuzz"]["cases"] > 0
    assert proc.returncode == EXIT_UNUSABLE


def test_forked_workers_report_what_one_process_reports(tmp_path):
    """--workers 2 sends the same cases as one process (the same seed: each job draws its own) and the
    run's report holds every job's findings, test cases and coverage counts."""
    reports = {}
    for workers in (1, 2):
        with Mock(tmp_path / str(workers), accept_invalid_body) as mock:
            code, reports[workers], _ = _run(mock, tmp_path / str(workers), phases="fuzz", max_examples=4,
                                             workers=workers)
        assert code == EXIT_VIOLATIONS
    one, two = reports[1], reports[2]
    assert two["workers"] == 2 and two["phases"]["fuzz"]["cases"] == one["phases"]["fuzz"]["cases"] > 0
    assert two["testcases"] == one["testcases"]
    assert {(f["check"], f["operation"]) for f in two["failures"]} == {(f["check"], f["operation"]) for f in one["failures"]}
    assert two["findingCount"] == one["findingCount"]
    statuses = [r["coverage"]["dimensions"]["statuses"] for r in (one, two)]
    assert statuses[0]["reached"] == statuses[1]["reached"] > 0


def test_exclude_keeps_requests_away_from_those_operations(tmp_path):
    with Mock(tmp_path) as mock:
        code, report, _ = _run(mock, tmp_path, phases="probes,fuzz", exclude=["legacy"])
        paths = {path for _, path, _ in mock.seen}
    assert code == EXIT_OK
    assert not any(p.startswith("/v1.1/") for p in paths)
    assert any(n["check"] == "legacy_self_approval" and "excluded" in n["why"] for n in report["notChecked"])


def test_nothing_mock_only_reaches_another_target(tmp_path):
    with Mock(tmp_path) as mock:
        _run(mock, tmp_path, phases="probes,machine,fuzz", webhook_listen=0, webhook_wait=0.5, **GIVEN)
        seen = list(mock.seen)
    assert not [p for _, p, _ in seen if p.startswith("/__admin")]
    assert not [h for _, _, headers in seen for h in headers if h.lower().startswith("x-mock-")]
    from contracts.run.transport import RateLimiter, TargetSession

    with Mock(tmp_path) as mock:  # every request goes through TargetSession: it drops the mock's controls
        for to_the_mock in (False, True):
            TargetSession(RateLimiter(None), mock=to_the_mock).get(
                mock.base_url + V2 + "requests", headers={**MAKER, "X-Mock-Outcome": "failure"})
        sent = [any(h.lower() == "x-mock-outcome" for h in headers) for _, _, headers in mock.seen]
    assert sent == [False, True]
