"""Build hook: ship the repository's openapi.yaml inside the wheel, as package data of capillary_contract.

openapi.yaml stays at the repository root as the one source of the contract; a wheel (and so a
plain `pip install <repo>`) gets a copy made at build time, never kept in git. An editable
install copies nothing and keeps reading the root file (see capillary_contract.loader.spec_path).
Everything else is declared in pyproject.toml.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"openapi.yaml": "capillary_contract/openapi.yaml"}  # source at the root -> place in the wheel


class BuildWithContract(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED.items():
            destination = Path(self.build_lib, target)
            self.mkpath(str(destination.parent))
            self.copy_file(str(ROOT / source), str(destination))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        extra = [] if getattr(self, "editable_mode", False) else [str(Path(self.build_lib, t)) for t in SHIPPED.values()]
        return [*super().get_outputs(include_bytecode), *extra]


setup(cmdclass={"build_py": BuildWithContract})
