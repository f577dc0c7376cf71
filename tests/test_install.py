"""The kit installs like any package: a plain (not editable) `pip install <repository>` in a new
virtual environment (pip builds the wheel and installs it), then the commands and the pytest plugin
work from a directory that knows nothing of the repository.

The repository is copied first, git-tracked files only (what a fresh clone has), so a file that
works here only because it is lying around untracked is caught. Takes about a minute (pip
installs every dependency into the new environment, from its cache when it can).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import tomllib
import venv
from pathlib import Path

import pytest
import requests

from mock_support import REPO, free_port, stop_served, ServedMock, wait_healthy

PACKAGES = ("capillary_contract", "mockserver", "contracts")
OUTSIDE_SUITE = REPO / "tests" / "outside_suite"  # a QA team's suite, copied out and run there
# One install per run (make test: --dist loadgroup); pip needs minutes when the machine is busy.
pytestmark = [pytest.mark.xdist_group("installed-kit"), pytest.mark.timeout(1800)]


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True)
    return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new venv holding the kit installed from a copy of the repository; its bin/ directory."""
    root = tmp_path_factory.mktemp("install")
    clone = root / "clone"
    for name in _tracked_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    # pip builds the kit's wheel and installs it; a QA team's suite adds pytest and pytest-xdist (the pins
    # of the kit's own test extra).
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(clone), *_test_pins("pytest", "pytest-xdist")], check=True, timeout=900)
    shutil.rmtree(clone)  # the installed kit must not need its source any more
    return bin_dir


def _test_pins(*names: str) -> list[str]:
    """The requirement lines of pyproject's test extra for these distributions (e.g. `pytest==9.2.0`)."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    found = [spec for spec in extra["test"] if spec.split("==")[0] in names]
    assert len(found) == len(names), (names, extra["test"])
    return found


def _clean_env() -> dict[str, str]:
    """This environment without what would point the installed kit back at the repository."""
    return {**{k: v for k, v in os.environ.items() if k not in ("CAPILLARY_OPENAPI", "PYTHONPATH")},
            "PYTHONUNBUFFERED": "1"}


def _run(bin_dir: Path, cwd: Path, *args: str, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    clean = _clean_env()
    return subprocess.run([*args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**clean, "PATH": f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}", **(env or {})})


def test_the_installed_kit_ships_its_contract_and_data(installed, tmp_path):
    code = ("import capillary_contract.loader as l, importlib.util as u, pathlib as p, sys;"
            "print(l.spec_path()); print(*[p.Path(u.find_spec(n).origin).parent for n in sys.argv[1:]], sep='\\n')")
    found = _run(installed, tmp_path, str(installed / "python"), "-c", code, *PACKAGES)
    assert found.returncode == 0, found.stderr
    spec, *package_dirs = [Path(line) for line in found.stdout.splitlines()]
    assert spec == package_dirs[0] / "openapi.yaml"
    assert spec.read_bytes() == (REPO / "openapi.yaml").read_bytes()
    site = package_dirs[0].parent
    assert REPO not in spec.parents and all(d.parent == site for d in package_dirs)
    # Every file git tracks inside the packages (data the commands read at run time too) is installed.
    missing = [name for name in _tracked_files() if name.split("/", 1)[0] in PACKAGES
               and not name.endswith(".py") and not (site / name).is_file()]
    assert missing == []


def test_the_installed_commands_serve_generate_and_conform(installed, tmp_path):
    served = _serve(installed, tmp_path, "--db", "state.db")
    try:
        contract = requests.get(served.base_url + "/openapi.yaml", timeout=10)
        assert contract.status_code == 200 and "x-request-types" in contract.text

        fixtures = _run(installed, tmp_path, "contracts", "fixtures", "--out", "made")
        assert fixtures.returncode == 0, fixtures.stderr
        assert (tmp_path / "made" / "index.json").is_file()
        assert len(list((tmp_path / "made").rglob("*.json"))) > 10

        conformance = _run(installed, tmp_path, "contracts", "run", "--base-url", served.base_url,
                           "--max-examples", "3", "--seed", "1", "--report", "report.json")
        assert conformance.returncode == 0, (conformance.stdout[-3000:], conformance.stderr[-3000:])
        assert (tmp_path / "report.json").is_file()
    finally:
        stop_served(served)
    assert "Traceback" not in served.log.read_text(errors="replace")


def test_spec_points_every_command_at_another_contract(installed, tmp_path):
    other = tmp_path / "copy of the contract.yaml"
    other.write_text((REPO / "openapi.yaml").read_text(encoding="utf-8").replace(
        "\ninfo:\n  title: ", "\ninfo:\n  title: Another copy of ", 1), encoding="utf-8")
    served = _serve(installed, tmp_path, "--db", ":memory:", "--spec", str(other))
    try:
        assert "title: Another copy of " in requests.get(served.base_url + "/openapi.yaml", timeout=10).text
    finally:
        stop_served(served)
    by_env = _run(installed, tmp_path, str(installed / "python"), "-c",
                  "from capillary_contract import load_contract; print(load_contract().spec['info']['title'])",
                  env={"CAPILLARY_OPENAPI": str(other)})
    assert by_env.stdout.startswith("Another copy of "), by_env.stderr

    (tmp_path / "broken.yaml").write_text("{[", encoding="utf-8")
    for command in (["mockserver", "serve", "--port", str(free_port())],
                    ["contracts", "run", "--base-url", "http://127.0.0.1:9"],
                    ["contracts", "fixtures", "--out", "never"]):
        for spec, says in (("no-such.yaml", "no OpenAPI document at no-such.yaml"),
                           ("broken.yaml", "broken.yaml is not an OpenAPI document of the workflow contract")):
            refused = _run(installed, tmp_path, *command, "--spec", spec, timeout=120)
            assert refused.returncode == 2, (command, spec, refused.stderr)
            assert says in refused.stderr, (command, refused.stderr)
            assert "Traceback" not in refused.stderr
    assert not (tmp_path / "never").exists()


def _serve(installed: Path, cwd: Path, *args: str) -> ServedMock:
    """`mockserver serve` from the installed kit on a free port, healthy; stop it with stop_served."""
    port = free_port()
    log = cwd / f"mockserver-{port}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([str(installed / "mockserver"), "serve", "--port", str(port), *args],
                                   cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=_clean_env())
    served = ServedMock(f"http://127.0.0.1:{port}", process, port, log)
    try:
        wait_healthy(served.base_url, process, log, timeout_s=120)
    except BaseException:
        stop_served(served)
        raise
    return served


def _qa_suite(where: Path) -> Path:
    """The outside suite copied to a directory that knows nothing of the repository."""
    suite = where / "qa-suite"
    shutil.copytree(OUTSIDE_SUITE, suite, ignore=shutil.ignore_patterns("__pycache__"))
    return suite


def _pytest(installed: Path, suite: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(installed, suite, str(installed / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                *args, timeout=900)


def test_a_suite_written_from_the_readme_passes_with_the_installed_plugin(installed, tmp_path):
    """In one process and on two xdist workers (a mock each); the run times are printed (`-s`)."""
    for workers in ("0", "2"):
        started = time.perf_counter()
        run = _pytest(installed, _qa_suite(tmp_path / f"n{workers}"), "-n", workers)
        elapsed = time.perf_counter() - started
        assert run.returncode == 0, (workers, run.stdout[-4000:], run.stderr[-2000:])
        assert "8 passed" in run.stdout, run.stdout[-2000:]
        print(f"outside suite -n {workers}: {run.stdout.strip().splitlines()[-1]} "
              f"({elapsed:.1f} s wall, with interpreter start)")


def test_the_same_suite_runs_against_another_deployment(installed, tmp_path):
    served = _serve(installed, tmp_path, "--db", "state.db")
    try:
        run = _pytest(installed, _qa_suite(tmp_path), "--capillary-base-url", served.base_url)
    finally:
        stop_served(served)
    assert run.returncode == 0, (run.stdout[-4000:], run.stderr[-2000:])
    # The reset and events tests need the control API: skipped, saying why; the others pass there.
    assert "4 passed, 4 skipped" in run.stdout, run.stdout[-3000:]
    assert f"needs the mock's control API (/__admin/), which {served.base_url} is not" in run.stdout


def test_an_unreachable_target_stops_the_run_with_a_clear_error(installed, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    run = _pytest(installed, _qa_suite(tmp_path), "--capillary-base-url", url)
    assert run.returncode == 4, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])  # pytest's usage error
    assert f"--capillary-base-url {url}: the target is unreachable" in run.stderr
