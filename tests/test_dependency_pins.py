"""The pinned dependency set installs and works together.

hypothesis-jsonschema 0.23.1 breaks on object schemas with Hypothesis >= 6.170.10, so Hypothesis
is pinned below that. schemathesis 4.x generates data with its own engine and does not pull in
hypothesis-jsonschema; if it ever becomes installed, the pinned pair must still generate objects.
"""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _pins() -> dict[str, str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    pins = {}
    for spec in specs:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[A-Za-z0-9_,\-]+\])?==([^\s;]+)", spec)
        assert match, f"not pinned with ==: {spec!r}"
        pins[match.group(1).lower()] = match.group(2)
    return pins


OBJECT_SCHEMA = {
    "type": "object",
    "required": ["name", "qty"],
    "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
}


def test_installed_versions_match_pins():
    pins = _pins()
    installed = {name: importlib.metadata.version(name) for name in pins}
    assert installed == pins


def test_hypothesis_version_is_the_pin_and_below_6_170_10():
    import hypothesis

    assert hypothesis.__version__ == _pins()["hypothesis"]
    assert tuple(int(part) for part in hypothesis.__version__.split(".")[:3]) < (6, 170, 10)


def test_schemathesis_generates_from_openapi_31_with_pinned_hypothesis():
    import schemathesis

    assert schemathesis.__version__ == _pins()["schemathesis"]
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "pin check", "version": "1"},
        "paths": {
            "/items": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": OBJECT_SCHEMA}},
                    },
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
    }
    operation = schemathesis.openapi.from_dict(spec)["/items"]["POST"]
    bodies = []

    @settings(max_examples=20, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(operation.as_strategy())
    def collect(case):
        bodies.append(case.body)

    collect()
    assert len(bodies) == 20
    # JSON Schema counts 3.0 as an integer, and schemathesis does generate such values.
    validator = Draft202012Validator(OBJECT_SCHEMA)
    for body in bodies:
        validator.validate(body)


def test_hypothesis_jsonschema_is_not_a_dependency():
    """hypothesis-jsonschema 0.23.1 breaks on object schemas with Hypothesis >= 6.170.10 and knows no
    JSON Schema 2020-12, so the kit generates with Schemathesis's engine alone; nothing may pull it in."""
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("hypothesis-jsonschema")
