"""Capillary's documents, as vendored in docs/capillary/, read as data for the contract tests.

The tests use the documents as an oracle independent of openapi.yaml: the JSON examples come
straight out of the seed pages here, never out of the spec, so a spec that drifted from the
documents is caught.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "capillary"
SEEDS = DOCS / "seeds"
REFERENCE = DOCS / "reference.md"
# The SHA-256 of each original as it was vendored (`sha256sum -c` format, paths relative to DOCS),
# so a copy edited by hand is caught without the originals beside the repository.
DIGESTS = DOCS / "SHA256SUMS"


def vendored_digests() -> dict[str, str]:
    """Vendored path (relative to DOCS) -> the recorded SHA-256 of its original."""
    pairs = (line.split(maxsplit=1) for line in DIGESTS.read_text(encoding="utf-8").splitlines() if line.strip())
    return {path.strip(): digest for digest, path in pairs}


@dataclass(frozen=True, repr=False)
class SeedExample:
    """One JSON example of a seed page: which page, its place on the page, and the value."""

    seed: str
    index: int
    value: Any

    @property
    def id(self) -> str:
        return f"{self.seed[:3]}#{self.index}"

    def __repr__(self) -> str:
        return self.id


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def json_objects(text: str) -> Iterator[Any]:
    """Every top-level JSON object in free text, in order (balanced braces, strings respected).

    A brace region that does not parse as JSON (markdown such as `\\{requestType\\}`) is skipped
    one character at a time, so an object that follows it is still found.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        value = None
        if end is not None:
            try:
                value, used = decoder.raw_decode(text[start:end + 1])
            except ValueError:
                value = None
            else:
                if used != end + 1 - start:
                    value = None
        if isinstance(value, dict):
            yield value
            start = text.find("{", end + 1)
        else:
            start = text.find("{", start + 1)


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the `}` that closes the `{` at `start`, skipping braces inside JSON strings."""
    depth = 0
    in_string = False
    i = start
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def seed_examples() -> list[SeedExample]:
    """All JSON examples of all seed pages, in page order."""
    out = []
    for path in seed_files():
        text = path.read_text(encoding="utf-8")
        out.extend(SeedExample(path.name, i, v) for i, v in enumerate(json_objects(text)))
    return out


def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def seed_text(prefix: str) -> str:
    """The text of the seed page whose name starts with `prefix` (e.g. "001")."""
    (path,) = [p for p in seed_files() if p.name.startswith(prefix)]
    return path.read_text(encoding="utf-8")
