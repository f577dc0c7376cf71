"""Findings, progress and the outputs of a run: the console summary, JSON and JUnit XML.

A finding names the rule it broke and carries the exchange that shows it, with a curl
command, so a reader can reproduce it without the suite.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO
from xml.etree import ElementTree as ET

from .transport import Exchange


@dataclass
class Finding:
    """One broken rule. `check` is a stable name (e.g. `decided_twice`, `response_schema_conformance`)."""

    phase: str
    check: str
    rule: str
    operation: str
    message: str
    exchange: Exchange | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.phase, self.check, self.operation)

    def as_dict(self) -> dict[str, Any]:
        out = {"phase": self.phase, "check": self.check, "rule": self.rule, "operation": self.operation,
               "message": self.message}
        if self.exchange:
            out["reproduction"] = self.exchange.as_dict()
        return out

    def render(self) -> str:
        lines = [f"[{self.phase}] {self.check} — {self.operation}", f"  rule: {self.rule}"]
        lines += ["  " + line for line in self.message.strip().splitlines()[:12]]
        if self.exchange:
            ex = self.exchange
            lines.append(f"  request: {ex.method} {ex.url}")
            if ex.body:
                lines.append(f"  body: {ex.body[:600]}")
            lines.append(f"  answer: {ex.status} {ex.answer[:600]}")
            lines.append(f"  reproduce: {ex.curl()}")
        return "\n".join(lines)


@dataclass
class PhaseStats:
    cases: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


class Report:
    """Thread-safe collector of findings and counts for one run."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.findings: list[Finding] = []
        self.phases: dict[str, PhaseStats] = {}
        self.notes: list[str] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._last_draw = 0.0
        self.started = time.monotonic()

    # -- collection --------------------------------------------------------------------
    def add(self, finding: Finding) -> bool:
        """Keep the first finding per (phase, check, operation); later repeats add nothing."""
        with self._lock:
            if finding.key in self._seen:
                return False
            self._seen.add(finding.key)
            self.findings.append(finding)
        self.progress()
        return True

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

    # -- live progress -----------------------------------------------------------------
    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.live or (not force and now - self._last_draw < 0.2):
            return
        self._last_draw = now
        counts = " ".join(f"{name}:{p.cases}" for name, p in self.phases.items())
        self.stream.write(f"\r\033[K{counts} | failures: {len(self.findings)} | {now - self.started:.1f}s")
        self.stream.flush()

    def end_progress(self) -> None:
        if self.live:
            self.progress(force=True)
            self.stream.write("\n")

    # -- outputs -----------------------------------------------------------------------
    def summary(self) -> str:
        lines = []
        for finding in self.findings:
            lines += [finding.render(), ""]
        for name, p in self.phases.items():
            extra = f" (skipped: {'; '.join(p.skipped)})" if p.skipped else ""
            lines.append(f"{name}: {p.cases} cases in {p.seconds:.1f}s{extra}")
        lines += self.notes
        verdict = "CONFORMANT" if not self.findings else f"{len(self.findings)} VIOLATION(S)"
        checks = sorted({f.check for f in self.findings})
        lines.append(f"{verdict}: {self.total_cases} cases in {time.monotonic() - self.started:.1f}s"
                     + (f" — broken: {', '.join(checks)}" if checks else ""))
        return "\n".join(lines)

    def as_dict(self, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            **meta,
            "conformant": not self.findings,
            "cases": self.total_cases,
            "seconds": round(time.monotonic() - self.started, 3),
            "phases": {n: {"cases": p.cases, "seconds": round(p.seconds, 3), "skipped": p.skipped}
                       for n, p in self.phases.items()},
            "failures": [f.as_dict() for f in self.findings],
            "notes": self.notes,
        }

    def write_json(self, path: str, meta: dict[str, Any]) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.as_dict(meta), handle, indent=2, default=str)

    def write_junit(self, path: str) -> None:
        """One testsuite per phase, one testcase per phase and check that failed, plus one passing case per phase."""
        root = ET.Element("testsuites", name="contracts run", tests=str(self.total_cases),
                          failures=str(len(self.findings)))
        for name, stats in self.phases.items():
            mine = [f for f in self.findings if f.phase == name]
            suite = ET.SubElement(root, "testsuite", name=name, tests=str(max(1, len(mine))),
                                  failures=str(len(mine)), time=f"{stats.seconds:.3f}")
            if not mine:
                case = ET.SubElement(suite, "testcase", classname=name, name=f"{name} ({stats.cases} cases)")
                if stats.skipped:
                    ET.SubElement(case, "system-out").text = "skipped: " + "; ".join(stats.skipped)
            for finding in mine:
                case = ET.SubElement(suite, "testcase", classname=name,
                                     name=f"{finding.check} {finding.operation}")
                failure = ET.SubElement(case, "failure", message=finding.rule, type=finding.check)
                failure.text = finding.render()
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
