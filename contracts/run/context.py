"""What every phase of a run shares: the target, who acts, limits, and what the run created."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from capillary_contract.loader import Contract

from .client import WorkflowClient
from .coverage import Coverage
from .findings import SCHEMA_CHECK, Finding
from .identities import Cast
from .reproduction import Exchange, exchange_of
from .report import Report
from .selection import Selection
from .transport import RateLimiter, TargetSession


@dataclass
class RunContext:
    base_url: str
    contract: Contract
    cast: Cast
    report: Report
    limiter: RateLimiter
    may_approve: bool
    loopback: bool
    max_examples: int = 10
    seed: int | None = None
    workers: int = 1
    selection: Selection = field(default_factory=Selection)
    coverage: Coverage | None = None  # counts every exchange of every session (coverage.py)
    # requestId -> URL name of every request the run created (for clean-up on shared targets)
    created: dict[str, str] = field(default_factory=dict)
    # requestId -> states the run saw it take, in order (for the webhook sequence check)
    trajectories: dict[str, list[str]] = field(default_factory=dict)
    # requestId -> what the run sent and saw: the wrapped call, the decision message (for the webhook checks)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    generators: Any = None  # the fuzz phase's case generators when they start with the run (generation.py)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_mock(self) -> bool:
        """The target is the mock (the run uses its default users): mock-only controls may be sent."""
        return self.cast.mock

    def session(self) -> TargetSession:
        """This thread's session (sessions are not shared across threads)."""
        if not hasattr(self._local, "session"):
            self._local.session = TargetSession(self.limiter, before=self.report.check_budget, mock=self.is_mock)
            if self.coverage is not None:
                self._local.session.hooks["response"].append(self.coverage.observe)
        return self._local.session

    def client(self) -> WorkflowClient:
        return WorkflowClient(self.base_url, self.session(), self.contract)

    def remember(self, request_id: str, url_name: str, state: str | None, **sent: Any) -> None:
        with self._lock:
            self.created[request_id] = url_name
            if sent:
                self.sent.setdefault(request_id, {}).update(sent)
            if state:
                seen = self.trajectories.setdefault(request_id, [])
                if not seen or seen[-1] != state:
                    seen.append(state)

    def label(self, method: str, url: str) -> str:
        """`METHOD /path/template` of a request: the same name whatever ids it carried."""
        path = unquote(urlsplit(url).path)
        if path.startswith(self.base_url_path):
            path = path[len(self.base_url_path):] or "/"
        found = self.contract.match(method, path)
        return f"{method.upper()} {found[0].path if found else path}"

    @property
    def base_url_path(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    def label_of(self, response: Any) -> str:
        return self.label(response.request.method, response.request.url)

    def observe(self, phase: str, response: Any) -> None:
        """Count one exchange of a probe or the machine and hold its answer to the documented schema."""
        from .checks import schema_violations  # checks imports nothing from here; keep the import local

        self.report.count(phase)
        operation = self.label_of(response)
        found = schema_violations(self.contract, response, self.base_url_path)
        if found is None:  # not a workflow answer
            return
        self.report.passed(phase, SCHEMA_CHECK, operation)
        exchange = exchange_of(response) if found else None
        for problem, cause in found:
            self.report.add(Finding(phase, SCHEMA_CHECK, "every answer fits its documented status and schema",
                                    operation, problem, exchange, cause=cause))

    def fail(self, phase: str, check: str, rule: str, operation: str, message: str, response: Any = None,
             steps: list[Exchange] | None = None, per_operation: bool = True, cause: str | None = None) -> None:
        self.report.add(Finding(phase, check, rule, operation, message,
                                exchange_of(response) if response is not None else None, steps or [],
                                cause=cause, per_operation=per_operation))
