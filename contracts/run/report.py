"""The record of one run: findings grouped by cause, the test cases that ran (passing ones too),
what could not be checked, per-phase counts, and when to stop (--max-failures, --max-time, a signal).

Outputs live apart: `console` (the summary), `junit` (the XML), and `as_dict` here (the JSON report).
Other parts of the run add to the JSON through `extensions` (e.g. a `coverage` object) and to the
JUnit file through `properties`.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..text import printable
from .findings import Finding, Problem, mask
from .reproduction import BodyFiles

KEPT_FINDINGS = 2000  # distinct findings kept for the report; counts go on past it


@dataclass
class PhaseStats:
    cases: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


class StopRun(BaseException):
    """Raised inside a phase to end the run early (a BaseException: Hypothesis passes it through)."""


class Report:
    """Thread-safe collector of one run's findings, test cases and counts."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None, files: BodyFiles | None = None,
                 type_names: tuple[str, ...] = ()):
        self.findings: list[Finding] = []
        self.problems: dict[tuple[str, str], Problem] = {}
        self.phases: dict[str, PhaseStats] = {}
        self.notes: list[str] = []
        self.ran: set[tuple[str, str, str]] = set()
        self.skipped: dict[tuple[str, str, str], str] = {}
        self.extensions: dict[str, Any] = {}
        self.properties: dict[str, str] = {}
        self.occurrences = 0
        self.files = files or BodyFiles("contracts-reproductions")
        self.type_names = type_names
        self.max_failures: int | None = None
        self.deadline: float | None = None
        self.stopped: str | None = None
        self._seen: dict[tuple[str, str, str, str], int] = {}  # finding key -> occurrences
        self._lock = threading.Lock()
        self.stream = stream or sys.stderr
        self.live = _isatty(self.stream) if live is None else live
        self.lines = not self.live  # not a terminal: one line per event, as it happens
        self.quiet = False
        self._last_draw = 0.0
        self._last_line = time.monotonic()
        self.started = time.monotonic()

    # -- collection --------------------------------------------------------------------
    def add(self, finding: Finding) -> bool:
        """Count a finding under its cause; keep it when it is new for (phase, check, operation, cause)."""
        if finding.cause is None:
            finding.cause = mask(finding.message, self.type_names)
        with self._lock:
            self.occurrences += 1
            kind = mask(finding.check, self.type_names)  # one check per request type is one kind of problem
            group = self.problems.get((kind, finding.cause))
            if group is None:
                group = self.problems[(kind, finding.cause)] = Problem(kind, finding.cause, finding)
            group.take(finding)
            new = finding.key not in self._seen
            self._seen[finding.key] = self._seen.get(finding.key, 0) + 1
            if new:
                if len(self.findings) < KEPT_FINDINGS:
                    self.findings.append(finding)
            limit_hit = self.max_failures is not None and len(self._seen) >= self.max_failures and not self.stopped
            if limit_hit:
                self.stopped = f"--max-failures {self.max_failures} reached"
        if new:
            self.line(f"FAIL [{finding.phase}] {finding.check} — {printable(finding.operation)}: {finding.headline}")
        self.progress()
        return new

    def passed(self, phase: str, check: str, operation: str = "") -> None:
        """A check was applied to an operation (a test case; it fails only if a finding names it)."""
        with self._lock:
            self.ran.add((phase, check, operation))

    def not_checked(self, phase: str, check: str, why: str, operation: str = "") -> None:
        """A rule the run meant to check and could not: said loudly, a skipped test case in JUnit."""
        key = (phase, check, operation)
        with self._lock:
            fresh = key not in self.skipped
            self.skipped.setdefault(key, why)
        if fresh:
            self.line(f"NOT CHECKED [{phase}] {check}{' — ' + operation if operation else ''}: {why}")

    def phase(self, name: str) -> PhaseStats:
        with self._lock:
            return self.phases.setdefault(name, PhaseStats())

    def count(self, phase: str, n: int = 1) -> None:
        with self._lock:
            self.phases.setdefault(phase, PhaseStats()).cases += n
        self.progress()

    def skip(self, phase: str, why: str) -> None:
        self.phase(phase).skipped.append(why)

    @property
    def total_cases(self) -> int:
        return sum(p.cases for p in self.phases.values())

    @property
    def conformant(self) -> bool:
        return not self.problems

    # -- stopping ------------------------------------------------------------------------
    def halt(self, why: str) -> None:
        """End the run at its next request or case (check_budget raises StopRun from then on)."""
        with self._lock:
            self.stopped = self.stopped or why

    def check_budget(self) -> None:
        """Raise StopRun once the run must end (a limit was reached or a signal arrived)."""
        if self.stopped is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = "--max-time reached"
        if self.stopped is not None:
            raise StopRun(self.stopped)

    # -- live progress -----------------------------------------------------------------
    def line(self, text: str) -> None:
        """One event, on its own line, when the output is not a terminal."""
        if self.lines and not self.quiet:
            self.stream.write(printable(text) + "\n")
            self.stream.flush()
            self._last_line = time.monotonic()

    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.lines:
            if force or now - self._last_line >= 5.0:  # a heartbeat line every few seconds
                self.line(f"progress: {self._counts()} | {now - self.started:.1f}s")
            return
        if not self.live or (not force and now - self._last_draw < 0.2):
            return
        self._last_draw = now
        self.stream.write(f"\r\033[K{self._counts()} | {now - self.started:.1f}s")
        self.stream.flush()

    def _counts(self) -> str:
        counts = " ".join(f"{name}:{p.cases}" for name, p in list(self.phases.items()))
        return f"{counts} | failures: {self.occurrences} ({len(self.problems)} problems)"

    def end_progress(self) -> None:
        if self.live:
            self.progress(force=True)
            self.stream.write("\n")
            self.stream.flush()

    # -- outputs -----------------------------------------------------------------------
    def ranked(self) -> list[Problem]:
        """Problems, the most frequent first (ties by check name, for a stable order)."""
        return sorted(self.problems.values(), key=lambda p: (-p.count, p.check, p.cause))

    def as_dict(self, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            **meta,
            "conformant": self.conformant,
            "stopped": self.stopped,
            "cases": self.total_cases,
            "seconds": round(time.monotonic() - self.started, 3),
            "phases": {n: {"cases": p.cases, "seconds": round(p.seconds, 3), "skipped": p.skipped}
                       for n, p in self.phases.items()},
            "findingCount": self.occurrences,
            "topProblems": [p.summary for p in self.ranked()[:5]],
            "problems": [p.as_dict(self.files) for p in self.ranked()],
            "failures": [f.as_dict(self.files) for f in self.findings],
            "notChecked": [{"phase": k[0], "check": k[1], "operation": k[2], "why": why}
                           for k, why in sorted(self.skipped.items())],
            "testcases": {"passed": len(self.passing_cases()), "failed": len(self.failing_cases()),
                          "skipped": len(self.skipped_cases())},
            "notes": self.notes,
            **self.extensions,
        }

    def failing_cases(self) -> set[tuple[str, str, str]]:
        return {f.case for f in self.findings}

    def skipped_cases(self) -> set[tuple[str, str, str]]:
        return set(self.skipped) - self.ran - self.failing_cases()

    def passing_cases(self) -> set[tuple[str, str, str]]:
        return self.ran - self.failing_cases()

    def write_json(self, path: str, meta: dict[str, Any]) -> None:
        with open(path, "w", encoding="ascii") as handle:
            json.dump(self.as_dict(meta), handle, indent=2, default=str, ensure_ascii=True)
            handle.write("\n")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
