"""What a run found: one `Finding` per broken rule seen, grouped into `Problem`s by root cause.

A finding names the rule, the operation by its template (never a concrete id, so the same failure
has the same name in every run), the concrete problem, and what reproduces it: the exchange, or the
sequence of steps of a lifecycle failure. Its `cause` is the message with every run-specific value
(ids, quoted values, times, type names, list indices) masked: findings of one cause across phases,
operations and request types are one problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..text import printable, printable_lines
from .reproduction import BodyFiles, Exchange, script

SCHEMA_CHECK = "response_schema_conformance"  # its cause names the broken fields: the clearest summary
_MASKS = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<id>"),
    (re.compile(r"(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)|(?<!\w)\"(?:[^\"\\]|\\.)*\"(?!\w)"), "<value>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?"), "<time>"),
    (re.compile(r"(?<=/)\d+(?=/|$|\W)"), "*"),
    (re.compile(r"\b\d{5,}\b"), "<n>"),
]


def mask(text: str, names: Iterable[str] = ()) -> str:
    """`text` with run-specific values masked (see the module docstring); `names` are masked as <type>."""
    out = text.strip().split("\n", 1)[0][:400]
    for pattern, replacement in _MASKS:
        out = pattern.sub(replacement, out)
    for name in sorted(names, key=len, reverse=True):
        out = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", "<type>", out)
    return out


@dataclass
class Finding:
    """One broken rule. `check` is a stable name (e.g. `decided_once`, `response_schema_conformance`);
    `per_operation` False makes the check one test case whatever operation it failed on (a probe)."""

    phase: str
    check: str
    rule: str
    operation: str
    message: str
    exchange: Exchange | None = None
    steps: list[Exchange] = field(default_factory=list)
    cause: str | None = None
    per_operation: bool = True

    @property
    def case(self) -> tuple[str, str, str]:
        """The JUnit test case this finding fails: (phase, check, operation template or "")."""
        return (self.phase, self.check, self.operation if self.per_operation else "")

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.phase, self.check, self.operation, self.cause or "")

    @property
    def headline(self) -> str:
        """The concrete problem on one printable line."""
        return printable(self.message.strip().split("\n", 1)[0])[:300]

    def as_dict(self, files: BodyFiles) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": self.phase, "check": self.check, "rule": self.rule,
                               "operation": printable(self.operation), "message": printable_lines(self.message),
                               "cause": printable(self.cause or "")}
        if self.exchange:
            out["reproduction"] = self.exchange.as_dict(files)
        if self.steps:
            out["steps"] = [step.as_dict(files) for step in self.steps]
            out["script"] = script(self.steps, files)
        return out

    def render(self, files: BodyFiles) -> list[str]:
        """The finding as console lines, every one printable."""
        lines = [f"[{self.phase}] {self.check} — {printable(self.operation)}", f"  rule: {printable(self.rule)}"]
        lines += ["  " + line for line in printable_lines(self.message.strip()).splitlines()[:12]]
        if self.steps:
            lines.append(f"  steps to replay ({len(self.steps)}; as a script in the JSON report):")
            for number, step in enumerate(self.steps, 1):
                lines.append(f"    {number}. {step.method} {printable(step.url)} -> HTTP {step.status}")
        if self.exchange:
            ex = self.exchange
            lines.append(f"  request: {ex.method} {printable(ex.url)}")
            if ex.body:
                shown = ex.body_text
                lines.append(f"  body: {shown[:600]}" if shown is not None else
                             f"  body: {len(ex.body)} bytes, not printable (sent from a file; see reproduce)")
            lines.append(f"  answer: {ex.status} {printable(ex.answer[:600])}")
            lines.append(f"  reproduce: {ex.curl(files)}")
        return lines


@dataclass
class Problem:
    """Findings of one root cause: how many, where, and one representative."""

    check: str
    cause: str
    representative: Finding
    count: int = 0
    phases: set[str] = field(default_factory=set)
    operations: set[str] = field(default_factory=set)

    def take(self, finding: Finding) -> None:
        self.count += 1
        self.phases.add(finding.phase)
        self.operations.add(finding.operation)
        if _better(finding, self.representative):
            self.representative = finding

    @property
    def summary(self) -> str:
        where = f"{', '.join(sorted(self.phases))}; {len(self.operations)} operation(s)"
        what = self.cause if self.check == SCHEMA_CHECK else self.representative.headline
        return f"{self.count}× {self.check}: {what} ({where})"

    def as_dict(self, files: BodyFiles) -> dict[str, Any]:
        return {"check": self.check, "cause": printable(self.cause), "count": self.count,
                "phases": sorted(self.phases), "operations": sorted(printable(o) for o in self.operations),
                "representative": self.representative.as_dict(files)}


def _better(candidate: Finding, current: Finding) -> bool:
    """A representative with a reproduction beats one without; a shorter one beats a longer one."""
    def weight(f: Finding) -> tuple[int, int]:
        shown = f.exchange or (f.steps[-1] if f.steps else None)
        return (0 if shown else 1, len(shown.body or b"") if shown else 0)
    return weight(candidate) < weight(current)
