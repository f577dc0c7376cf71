"""The layers the tree promises: the contract package stands alone, the run side never uses the mock.

openapi.yaml -> capillary_contract -> mockserver / contracts; `contracts run` judges any deployment
over HTTP, so nothing under contracts/run/ may import the mock (not even lazily), and the contract
package imports nothing of ours. Only the fixture recorders drive the in-process mock.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(folder: Path) -> dict[str, set[str]]:
    """Every module each file under `folder` imports, lazily or not (relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    names.add(f"{base}.{node.module}" if node.module else base)
                else:
                    names.add(node.module or "")
        found[str(path.relative_to(ROOT))] = names
    return found


def _offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {file: sorted(n for n in names if n.split(".")[0] in forbidden)
            for file, names in _imports(ROOT / folder).items()
            if any(n.split(".")[0] in forbidden for n in names)}


def test_the_contract_package_imports_nothing_of_ours():
    assert _offenders("capillary_contract", ("mockserver", "contracts")) == {}


def test_the_run_side_imports_nothing_of_the_mock():
    assert _offenders("contracts/run", ("mockserver",)) == {}
    assert "contracts/run/runner.py" in _imports(ROOT / "contracts/run")  # the walk saw the run side


def test_loading_the_whole_run_side_loads_no_mock_module():
    code = ("import sys, contracts.cli, contracts.run.runner, contracts.run.fuzz, contracts.run.machine; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mockserver'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


PRIVATE = ("hypothesis.internal", "schemathesis.generation", "schemathesis.core", "schemathesis.specs")


def test_generation_uses_public_library_apis_only():
    """The strategies and the fixtures generate through Hypothesis's and Schemathesis's public
    APIs (`as_strategy()`, `@given`, `@seed`), never their internals, which change without notice."""
    for folder in ("capillary_contract", "contracts/fixtures"):
        private = {file: sorted(n for n in names if n.startswith(PRIVATE))
                   for file, names in _imports(ROOT / folder).items() if any(n.startswith(PRIVATE) for n in names)}
        assert private == {}, folder
    child = (ROOT / "contracts/fixtures/draw.py").read_text(encoding="utf-8")
    assert "import schemathesis" in child and not any(p in child for p in PRIVATE)
