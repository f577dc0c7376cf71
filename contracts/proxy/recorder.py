"""What the proxy reports: one line per violation as it happens, the live list, the JSON report, JUnit.

Every text that leaves the proxy passes through `Secrets.scrub` (no credentials, no control
characters). Memory stays bounded on long runs: counts per rule are kept for the whole run,
the violations themselves only for the last `KEPT` (the report says how many were seen).
"""
from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, TextIO
from xml.etree import ElementTree as ET

from .exchange import Exchange
from .redaction import Secrets, decoded, printable
from .rules import RULES, Finding

KEPT = 1000              # violations kept for the live list and the report (the most recent)
SHOWN_BODY = 2000        # characters of a body shown in a reproduction
SKIPPED_IN_CURL = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding",
                   "user-agent", "accept"}


@dataclass(frozen=True)
class Violation:
    """A finding made presentable: every field scrubbed of secrets and unprintable characters."""

    rule: str
    statement: str
    message: str
    exchange: str
    request_id: str | None
    status: int
    reproduction: str
    at: str

    def line(self) -> str:
        rid = f" request {self.request_id}" if self.request_id else ""
        return f"VIOLATION {self.rule}: {self.message} [{self.exchange}{rid}] reproduce: {self.reproduction}"


def reproduction(exchange: Exchange, upstream_url: str, secrets: Secrets) -> str:
    """A curl command that sends the same request to the upstream, with every secret blanked."""
    parts = ["curl", "-X", exchange.method, upstream_url.rstrip("/") + exchange.target]
    for name, value in secrets.headers(exchange.request_headers):
        if name.lower() not in SKIPPED_IN_CURL:
            parts += ["-H", f"{name}: {value}"]
    if exchange.request_body:
        sent = exchange.request_json()
        if isinstance(sent, (dict, list)):
            text = json.dumps(secrets.document(sent), ensure_ascii=False, separators=(",", ":"))
        else:
            text = decoded(exchange.request_body)
        if len(text) > SHOWN_BODY:
            text = text[:SHOWN_BODY] + "…(cut)"
        parts += ["--data-binary", text]
    return secrets.scrub(" ".join(shlex.quote(part) for part in parts))


class Recorder:
    """Collects the violations of a run; thread-safe (the control endpoint reads while traffic flows)."""

    def __init__(self, upstream_url: str, stream: TextIO | None = None):
        self.upstream_url = upstream_url
        self.stream = stream or sys.stdout
        self.started = time.time()
        self.checked = {rule: 0 for rule in RULES}
        self.broken = {rule: 0 for rule in RULES}
        self.recent: deque[Violation] = deque(maxlen=KEPT)
        self.exchanges = 0
        self.unmatched = 0
        self._lock = threading.Lock()

    @property
    def violations(self) -> int:
        return sum(self.broken.values())

    def record(self, exchange: Exchange, checked: set[str], findings: list[Finding]) -> list[Violation]:
        """Count the exchange and the rules applied; report each finding at once, on one line."""
        made = []
        if findings:
            secrets = Secrets()
            secrets.headers(exchange.request_headers)
            secrets.headers(exchange.response_headers)
            secrets.document(exchange.request_json())
            secrets.document(exchange.response_json())
            repro = reproduction(exchange, self.upstream_url, secrets)
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for finding in findings:
                made.append(Violation(finding.rule, RULES[finding.rule], secrets.scrub(finding.message),
                                      secrets.scrub(exchange.label),
                                      printable(finding.request_id) if finding.request_id else None,
                                      exchange.status, repro, at))
        with self._lock:
            self.exchanges += 1
            for rule in checked:
                self.checked[rule] += 1
            for violation in made:
                self.broken[violation.rule] += 1
                self.recent.append(violation)
        for violation in made:
            self.stream.write(violation.line() + "\n")
        if made:
            self.stream.flush()
        return made

    def count_unmatched(self) -> None:
        with self._lock:
            self.exchanges += 1
            self.unmatched += 1

    # -- outputs -------------------------------------------------------------------------
    def as_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            recent = [asdict(v) for v in self.recent]
            rules = [{"rule": rule, "statement": statement, "checked": self.checked[rule],
                      "violations": self.broken[rule]} for rule, statement in RULES.items()]
            exchanges, unmatched = self.exchanges, self.unmatched
        total = sum(r["violations"] for r in rules)
        return {
            "upstream": printable(self.upstream_url),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 3),
            "conformant": total == 0,
            "exchanges": exchanges,
            "unmatched": unmatched,
            "violationCount": total,
            "rules": rules,
            "violations": recent,
            "violationsKept": KEPT,
            **(extra or {}),
        }

    def write_json(self, path: str, extra: dict[str, Any] | None = None) -> None:
        with open(path, "w", encoding="ascii") as handle:
            json.dump(self.as_dict(extra), handle, indent=2, ensure_ascii=True)
            handle.write("\n")

    def write_junit(self, path: str) -> None:
        """One testcase per rule, passing ones included; a failing one lists its violations."""
        report = self.as_dict()
        root = ET.Element("testsuites", name="contracts proxy", tests=str(len(RULES)),
                          failures=str(sum(1 for r in report["rules"] if r["violations"])))
        suite = ET.SubElement(root, "testsuite", name="contracts proxy", tests=str(len(RULES)),
                              failures=root.get("failures", "0"), time=f"{report['seconds']:.3f}")
        for rule in report["rules"]:
            case = ET.SubElement(suite, "testcase", classname="contracts proxy", name=rule["rule"])
            ET.SubElement(case, "system-out").text = (f"{rule['statement']}: checked on {rule['checked']} "
                                                      f"exchange(s)")
            if rule["violations"]:
                failure = ET.SubElement(case, "failure", type=rule["rule"],
                                        message=f"{rule['violations']} violation(s): {rule['statement']}")
                failure.text = "\n".join(v["message"] + "\n  " + v["exchange"] + "\n  reproduce: " + v["reproduction"]
                                         for v in report["violations"] if v["rule"] == rule["rule"])
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
