"""`contracts run` against Stoplight Prism serving openapi.yaml (a mock that answers documented examples and
random data, so it breaks many rules at once): exit 1, a well-formed JUnit file with passing and failing
cases, a printable console, findings grouped into fewer problems, and a representative reproduction that
bash and curl replay with the same answer. Prism is installed into bench/.prism by bench_mock's installer.

Probes only: now that openapi.yaml lets Prism validate request bodies (issue 10), Prism 5.14.2 dies on
fuzzed bodies (a violation naming a non-Latin-1 member goes into its `sl-violations` header, which Node
refuses: "Invalid character in header content"), so the fuzz phase would test a dead server."""
from __future__ import annotations

import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from contracts.run.runner import EXIT_VIOLATIONS, RunOptions, run

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.timeout(600)
def test_a_run_against_prism_is_readable_grouped_and_replayable(prism, tmp_path):
    out, stream = io.StringIO(), io.StringIO()
    code = run(RunOptions(base_url=prism.base_url, phases=("probes",), max_examples=3, seed=1,
                          include=["workflow"], report=str(tmp_path / "run.json"),
                          junit_xml=str(tmp_path / "junit.xml")), out=out, stream=stream)
    report = json.loads((tmp_path / "run.json").read_text())
    assert code == EXIT_VIOLATIONS
    assert not CONTROL.search(out.getvalue()) and not CONTROL.search(stream.getvalue())
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = list(root.iter("testcase"))
    failing = [c for c in cases if c.find("failure") is not None]
    assert failing and len(cases) > len(failing)
    assert len(report["problems"]) < report["findingCount"]
    shown = next(p["representative"]["reproduction"] for p in report["problems"]
                 if p["representative"].get("reproduction"))
    done = subprocess.run(["bash", "-c", shown["curl"] + " -sS -o /dev/null -w '%{http_code}'"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == shown["status"]
