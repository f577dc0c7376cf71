"""The console summary of a run: the top problems first, then each problem once with a representative
finding and its reproduction, what could not be checked, per-phase counts and the verdict."""
from __future__ import annotations

import time

from ..text import printable
from .report import Report

TOP = 5


def summary(report: Report, verdict: str) -> str:
    lines: list[str] = []
    ranked = report.ranked()
    if ranked:
        lines.append(f"TOP PROBLEMS ({len(ranked)} distinct, {report.occurrences} findings):")
        lines += [f"  {n}. {p.summary}" for n, p in enumerate(ranked[:TOP], 1)]
        lines.append("")
        for n, problem in enumerate(ranked, 1):
            lines.append(f"PROBLEM {n}: {problem.count}× in {', '.join(sorted(problem.phases))}, "
                         f"{len(problem.operations)} operation(s)")
            lines += problem.representative.render(report.files)
            lines.append("")
    if report.skipped_cases():
        lines.append("NOT CHECKED (rules this run could not test):")
        for phase, check, operation in sorted(report.skipped_cases()):
            what = f"{check} {operation}".strip()
            lines.append(f"  [{phase}] {printable(what)}: {printable(report.skipped[(phase, check, operation)])}")
        lines.append("")
    for name, p in report.phases.items():
        extra = f" (skipped: {'; '.join(p.skipped)})" if p.skipped else ""
        lines.append(f"{name}: {p.cases} cases in {p.seconds:.1f}s{extra}")
    lines += [printable(note) for note in report.notes]
    if report.stopped:
        lines.append(f"STOPPED EARLY: {report.stopped}; the reports are partial")
    passed, failed, skipped = len(report.passing_cases()), len(report.failing_cases()), len(report.skipped_cases())
    lines.append(f"{verdict}: {report.total_cases} cases in {time.monotonic() - report.started:.1f}s; "
                 f"test cases {passed} passed, {failed} failed, {skipped} not checked")
    return "\n".join(lines)
