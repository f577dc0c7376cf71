"""A plain Schemathesis run (`st run`) against a served strict mock: every phase, positive and
negative data, all checks, zero failures.

The v2 workflow and the admin API are run here; the legacy v1.1 API has its own tests. Hooks in
mock_st_hooks.py teach Schemathesis the rules the spec states outside its schemas.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mock_support import REPO, served_mock

ST = Path(sys.executable).with_name("st")
CONFIG = """\
headers = { Authorization = "Basic bWFrZXI6bWFrZXI=", X-CAP-API-AUTH-ORG-ID = "51250" }

# maker != checker: decisions go as the checker
[[operations]]
include-operation-id-regex = "^decide"
headers = { Authorization = "Basic Y2hlY2tlcjpjaGVja2Vy" }
"""


@pytest.mark.skipif(not ST.exists(), reason="schemathesis CLI not installed")
@pytest.mark.timeout(480)
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    with served_mock(tmp_path, "--workers", "2", "--strict") as served:
        done = subprocess.run(
            [str(ST), "--config-file", str(config), "run", str(REPO / "openapi.yaml"), "--url", served.base_url,
             "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all", "--checks", "all",
             "--max-examples", "5", "--seed", "7", "--request-timeout", "20",
             "--include-tag", "workflow",
             "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml")],
            capture_output=True, text=True, timeout=450, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "mock_st_hooks", "NO_COLOR": "1",
                 "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(REPO),
                                                os.environ.get("PYTHONPATH", "")])})
        server_log = served.log.read_text()
    report = done.stdout[-6000:]
    assert done.returncode == 0, report + done.stderr[-3000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in done.stdout, report
    assert "failures" not in done.stdout.split("SUMMARY")[-1], report
    assert "Authentication failed" not in done.stdout, report
    assert "outside the contract" not in server_log, server_log[-3000:]
    assert "Traceback" not in server_log, server_log[-3000:]
