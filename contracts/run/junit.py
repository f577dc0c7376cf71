"""The JUnit XML of a run, for CI test viewers: one test suite per phase, one test case per probe and per
(check, operation template), passing ones included, so the pass rate means something and names stay the
same from run to run (no ids, no seeds). A failure's message is the concrete problem; a rule that could
not be checked is a skipped case saying why. All text is printable, so the file is well-formed XML."""
from __future__ import annotations

from xml.etree import ElementTree as ET

from ..text import printable, printable_lines
from .report import Report


def case_name(check: str, operation: str) -> str:
    return f"{check} {operation}".strip()


def write_junit(report: Report, path: str) -> None:
    failing: dict[tuple[str, str, str], list] = {}
    for finding in report.findings:
        failing.setdefault(finding.case, []).append(finding)
    cases = report.ran | set(report.skipped) | set(failing)
    phases = list(report.phases) + sorted({c[0] for c in cases} - set(report.phases))
    root = ET.Element("testsuites", name="contracts run", tests=str(len(cases)), failures=str(len(failing)),
                      skipped=str(len(report.skipped_cases())))
    if report.properties:
        props = ET.SubElement(root, "properties")
        for name, value in sorted(report.properties.items()):
            ET.SubElement(props, "property", name=printable(name), value=printable(str(value)))
    for phase in phases:
        mine = sorted(c for c in cases if c[0] == phase)
        stats = report.phases.get(phase)
        suite = ET.SubElement(root, "testsuite", name=phase, tests=str(len(mine)),
                              failures=str(sum(1 for c in mine if c in failing)),
                              skipped=str(sum(1 for c in mine if c not in failing and c not in report.ran)),
                              time=f"{stats.seconds if stats else 0.0:.3f}")
        for key in mine:
            _, check, operation = key
            case = ET.SubElement(suite, "testcase", classname=f"contracts.{phase}",
                                 name=printable(case_name(check, operation)))
            if key in failing:
                first = failing[key][0]
                failure = ET.SubElement(case, "failure", type=check, message=first.headline)
                failure.text = "\n\n".join("\n".join(f.render(report.files)) for f in failing[key][:5])
            elif key not in report.ran:
                ET.SubElement(case, "skipped", message=printable(report.skipped[key]))
    if report.stopped:
        ET.SubElement(root, "system-err").text = printable_lines(f"the run stopped early: {report.stopped}")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
