"""The request lifecycle as a declared transition table; pure, so it is unit-testable.

create -> ValidateMakerAccess -> ValidatePayload -> AdminTask; a checker's decision ->
AdminTask step -> ValidateCheckerAccess -> IntouchAPITask -> approved | failed, or
rejected without the wrapped call. A trusted integration's retro request runs the wrapped
call at once. Terminal states have no transitions, so they never change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NEW = "new"
PENDING = "AdminTask"
APPROVED, REJECTED, FAILED = "approved", "rejected", "failed"
STATES = (PENDING, APPROVED, REJECTED, FAILED)  # every state a request is seen in (`state`, events)
TERMINAL = frozenset({APPROVED, REJECTED, FAILED})
DECISIONS = (APPROVED, REJECTED)  # a checker's `actionDecision`
APPROVAL_OUTCOMES = frozenset({APPROVED, FAILED})  # an approval ends as the wrapped call does
BY_WRAPPED_CALL = "by-wrapped-call"  # approved when the wrapped call succeeds, failed otherwise

CREATE, AUTO, APPROVE, REJECT = "create", "auto-approve", "approve", "reject"


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    steps: tuple[str, ...]
    target: str


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.action): t
    for t in (
        Transition(NEW, CREATE, ("ValidateMakerAccess", "ValidatePayload"), PENDING),
        Transition(NEW, AUTO, ("ValidateMakerAccess", "ValidatePayload", "IntouchAPITask"), BY_WRAPPED_CALL),
        Transition(PENDING, APPROVE, ("AdminTask", "ValidateCheckerAccess", "IntouchAPITask"), BY_WRAPPED_CALL),
        Transition(PENDING, REJECT, ("AdminTask", "ValidateCheckerAccess"), REJECTED),
    )
}


class NoTransition(Exception):
    """The action is not allowed from the request's state (e.g. deciding a decided request)."""


def transition(state: str, action: str) -> Transition:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise NoTransition(f"no '{action}' from state '{state}'") from None


@dataclass(frozen=True)
class StepInputs:
    """What the steps may need: the checker's decision and the wrapped call's output."""

    decision: dict[str, Any] | None = None
    wrapped_output: dict[str, Any] | None = None
    wrapped_succeeded: bool = True


def apply(document: dict[str, Any], step: Transition, inputs: StepInputs, now: str) -> dict[str, Any]:
    """The request document after the transition: `details` grown step by step, state and times set."""
    doc = {**document, "details": dict(document.get("details", {}))}
    details = doc["details"]
    for name in step.steps:
        if name == "AdminTask":
            assert inputs.decision is not None
            details["AdminTask-Payload"] = inputs.decision
            details["AdminTask_Output"] = inputs.decision["actionDecision"]
        elif name == "IntouchAPITask":
            assert inputs.wrapped_output is not None
            details["IntouchAPITask_Output"] = inputs.wrapped_output
        else:
            details[f"{name}_Output"] = True
    target = step.target
    if target == BY_WRAPPED_CALL:
        target = APPROVED if inputs.wrapped_succeeded else FAILED
    doc["state"] = target
    doc["endTime"] = now if target in TERMINAL else None
    return doc
