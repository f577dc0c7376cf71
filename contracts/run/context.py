"""What every phase of a run shares: the target, who acts, limits, and what the run created."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from capillary_contract.loader import Contract

from .client import WorkflowClient
from .identities import Cast
from .report import Finding, Report
from .transport import RateLimiter, TargetSession, exchange_of


@dataclass
class RunContext:
    base_url: str
    contract: Contract
    cast: Cast
    report: Report
    limiter: RateLimiter
    may_approve: bool
    loopback: bool
    max_examples: int = 25
    seed: int | None = None
    workers: int = 1
    # requestId -> URL name of every request the run created (for clean-up on shared targets)
    created: dict[str, str] = field(default_factory=dict)
    # requestId -> states the run saw it take, in order (for the webhook sequence check)
    trajectories: dict[str, list[str]] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self) -> TargetSession:
        """This thread's session (sessions are not shared across threads)."""
        if not hasattr(self._local, "session"):
            self._local.session = TargetSession(self.limiter)
        return self._local.session

    def client(self) -> WorkflowClient:
        return WorkflowClient(self.base_url, self.session(), self.contract)

    def remember(self, request_id: str, url_name: str, state: str | None) -> None:
        with self._lock:
            self.created[request_id] = url_name
            if state:
                seen = self.trajectories.setdefault(request_id, [])
                if not seen or seen[-1] != state:
                    seen.append(state)

    def observe(self, phase: str, response: Any) -> None:
        """Count one exchange of a probe or the machine and hold its answer to the documented schema."""
        from .checks import schema_problem  # checks imports nothing from here; keep the import local

        self.report.count(phase)
        problem = schema_problem(self.contract, response)
        if problem:
            self.fail(phase, "response_schema_conformance", "every answer fits its documented status and schema",
                      f"{response.request.method} {response.request.path_url.split('?')[0]}", problem, response)

    def fail(self, phase: str, check: str, rule: str, operation: str, message: str, response: Any = None) -> None:
        self.report.add(Finding(phase, check, rule, operation, message,
                                exchange_of(response) if response is not None else None))
