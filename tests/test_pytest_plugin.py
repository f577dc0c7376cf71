"""The pytest plugin as a QA suite meets it: real pytest runs (child processes) of small suites in a
directory of their own, with the plugin loaded from its entry point. Against the plugin's own mock
(a fixture overridden in a conftest.py, the reset that puts back what the mock preloads), against
another deployment (control-API tests skipped with the reason, --capillary-auth, CAPILLARY_BASE_URL)
and against an unreachable one (a usage error, no traceback).

tests/test_install.py runs the README's suite with the kit installed from its wheel; this runs in
the repository's environment, so it is quick.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from capillary_contract.http import free_port
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

LIST = "/api_gateway/v2/request-workflow/requests"
SUITE = textwrap.dedent(f'''
    import pytest

    @pytest.mark.capillary_control
    def test_needs_the_control_api(capillary):
        capillary.reset()

    def test_a_maker_raises_and_a_checker_approves(capillary):
        request = capillary.create("EARN-BADGE")
        assert capillary.approve(request)["state"] == "approved"

    def test_events_need_the_control_api(capillary):
        request = capillary.create("EARN-BADGE")
        capillary.events(request["requestId"])
''')


def _pytest(suite: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "CAPILLARY_BASE_URL"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
                          cwd=suite, capture_output=True, text=True, timeout=300, env={**clean, **(env or {})})


def _suite(tmp_path: Path, **files: str) -> Path:
    suite = tmp_path / "qa"
    suite.mkdir()
    for name, text in files.items():
        (suite / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return suite


def test_a_conftest_overrides_the_config_and_each_test_starts_from_what_the_mock_preloads(tmp_path):
    suite = _suite(tmp_path, **{
        "conftest.py": '''
            import dataclasses
            import pytest

            @pytest.fixture(scope="session")
            def capillary_config(capillary_config):
                return dataclasses.replace(capillary_config, pending_per_type=1)
        ''',
        "test_preloaded.py": f'''
            import pytest

            def waiting(capillary):
                return capillary.checker.get("{LIST}", params={{"states": "AdminTask", "limit": 100}}).json()["data"]

            @pytest.mark.parametrize("attempt", [1, 2])
            def test_one_waiting_request_of_each_type_then_mine(capillary, attempt):
                assert len(waiting(capillary)) == len(capillary.contract.request_types)
                capillary.create("GOODWILL-POINTS")
                assert len(waiting(capillary)) == len(capillary.contract.request_types) + 1
        ''',
    })
    run = _pytest(suite)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


@pytest.mark.parametrize("via", ["option", "environment"])
def test_another_deployment_skips_what_needs_the_control_api(tmp_path, via):
    suite = _suite(tmp_path, **{"test_suite.py": SUITE})
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False)) as mock:
        if via == "option":
            run = _pytest(suite, "--capillary-base-url", mock.base_url + "/")
        else:
            run = _pytest(suite, env={"CAPILLARY_BASE_URL": mock.base_url})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed, 2 skipped" in run.stdout, run.stdout[-3000:]
    reason = f"needs the mock's control API (/__admin/), which {mock.base_url} is not: it is another deployment"
    assert run.stdout.count(reason) == 2, run.stdout[-3000:]


def test_capillary_auth_gives_the_roles_their_credentials_and_org_there(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n"
                     "  - {username: ann, password: a-secret, id: 700001, org: 1001, permissions: [CanMakeRequest]}\n"
                     "  - {username: bob, password: b-secret, id: 700002, org: 1001, permissions: [CanCheckRequest]}\n",
                     encoding="utf-8")
    suite = _suite(tmp_path, **{"test_suite.py": SUITE})
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False,
                                    users_file=users)) as mock:
        run = _pytest(suite, "--capillary-base-url", mock.base_url,
                      "--capillary-auth", "maker=basic:ann:a-secret@1001",
                      "--capillary-auth", "checker=basic:bob:b-secret@1001")
        refused = _pytest(suite, "--capillary-base-url", mock.base_url, "--capillary-auth", "maker=basic:ann")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed, 2 skipped" in run.stdout, run.stdout[-3000:]
    assert refused.returncode == 4, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "--capillary-auth maker: expected basic:user:password, got 'basic:ann'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_an_unreachable_deployment_stops_the_run_with_a_clear_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    run = _pytest(_suite(tmp_path, **{"test_suite.py": SUITE}), "--capillary-base-url", url)
    assert run.returncode == 4, run.stdout[-2000:] + run.stderr[-2000:]  # pytest's usage error
    assert f"ERROR: --capillary-base-url {url}: the target is unreachable" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_the_plugin_is_an_entry_point_and_p_no_capillary_turns_it_off(tmp_path):
    from importlib.metadata import entry_points
    assert [e.value for e in entry_points(group="pytest11") if e.name == "capillary"] == ["contracts.pytest_plugin"]
    run = _pytest(_suite(tmp_path, **{"test_suite.py": SUITE}), "-p", "no:capillary")
    assert run.returncode == 1, run.stdout[-2000:]
    assert "fixture 'capillary' not found" in run.stdout


def test_the_examples_module_names_differ_from_the_tests():
    """make test collects tests/ and examples/ in one run, where pytest imports a test file by its
    basename: two files of one name stop the collection ("import file mismatch")."""
    root = Path(__file__).resolve().parent.parent
    names = {p.name for p in (root / "tests").glob("test_*.py")}
    assert [p.name for p in (root / "examples").glob("test_*.py") if p.name in names] == []
    assert list((root / "examples").glob("test_*.py"))  # the walk saw the examples
