"""Plain Schemathesis against served mocks, as a user runs it (issue 10), with zero failures.

`st run openapi.yaml --url URL --checks all`, every phase, the credentials of `supervisor` (both
permissions) and the org header, and the repository's own `schemathesis.toml` and nothing else:
against the default mock and against one started with `--examples`. The admin API is fuzzed from
the document the mock serves at `/__admin/openapi.yaml`, on a mock of its own (it resets). Every
mock runs `--strict`, so an answer outside its document is a 500 that Schemathesis reports.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mock_support import REPO, auth, served_mock

ST = Path(sys.executable).with_name("st")
SHIPPED_CONFIG = REPO / "schemathesis.toml"
MAX_EXAMPLES = "4"  # bounded: three runs share the machine with the rest of the suite


def _st(spec: str, base_url: str, workdir: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    headers = auth("supervisor")
    command = [str(ST), "--config-file", str(SHIPPED_CONFIG), "run", spec, "--url", base_url, "--checks", "all",
               "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", MAX_EXAMPLES, "--seed", "7",
               *[arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")], *extra]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "NO_COLOR": "1", **(env or {})})


def _summary(output: str) -> dict[str, int]:
    """The figures of Schemathesis's summary: cases generated, failures, errors."""
    tail = output.split("SUMMARY")[-1]
    cases = re.search(r"(\d+) generated", tail)
    failures = re.search(r"(\d+) failures?\b", tail)
    errors = re.search(r"(\d+) errors?\b", tail)
    return {"cases": int(cases.group(1)) if cases else 0, "failures": int(failures.group(1)) if failures else 0,
            "errors": int(errors.group(1)) if errors else 0}


def _judge(name: str, process: subprocess.Popen, log: Path) -> dict[str, int]:
    output, _ = process.communicate(timeout=900)
    figures = _summary(output)
    print(f"\n{name}: {figures}")
    report = output[-6000:]
    assert process.returncode == 0, report
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, report
    assert figures["cases"] > 0 and figures["failures"] == 0 and figures["errors"] == 0, report
    assert "Authentication failed" not in output, report
    server_log = log.read_text()
    assert "outside the contract" not in server_log, server_log[-3000:]
    assert "Traceback" not in server_log, server_log[-3000:]
    return figures


@pytest.mark.timeout(1000)
def test_plain_schemathesis_finds_nothing_with_the_shipped_configuration(tmp_path: Path) -> None:
    spec = str(REPO / "openapi.yaml")
    hooks = {"SCHEMATHESIS_HOOKS": "mock_st_hooks",
             "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    (tmp_path / "default").mkdir()
    (tmp_path / "examples").mkdir()
    (tmp_path / "admin").mkdir()
    with served_mock(tmp_path / "default", "--workers", "2", "--strict") as default, \
            served_mock(tmp_path / "examples", "--workers", "2", "--strict", "--examples") as examples, \
            served_mock(tmp_path / "admin", "--workers", "1", "--threads", "4", "--strict") as admin:
        runs = {
            "default mock": (_st(spec, default.base_url, tmp_path / "default"), default.log),
            "--examples mock": (_st(spec, examples.base_url, tmp_path / "examples"), examples.log),
            # the admin document as served (self-contained); its waits capped by mock_st_hooks.py
            "admin document": (_st(f"{admin.base_url}/__admin/openapi.yaml", admin.base_url, tmp_path / "admin",
                                   env=hooks), admin.log),
        }
        figures = {name: _judge(name, process, log) for name, (process, log) in runs.items()}
    assert all(f["failures"] == f["errors"] == 0 for f in figures.values()), figures
