"""The rules the proxy holds every exchange to, by stable name: the report's and JUnit's vocabulary.

Exchange rules judge one request and its answer against openapi.yaml; lifecycle rules judge
what a request shows across calls against the transition table of `capillary_contract.lifecycle`.
"""
from __future__ import annotations

from dataclasses import dataclass

EXCHANGE_RULES = {
    "documented_status": "every answer's HTTP status is one its operation documents",
    "response_schema": "every answer is JSON that fits the schema documented for its status (the envelope included)",
    "error_catalogue": "every error carries a documented code with that code's exact message",
    "request_type_casing": "a v2 answer names the request type in lower-kebab, the type the URL named",
    "invalid_request_refused": "a request the contract refuses (parameters, body, organisation header) is not answered 2xx",
    "documented_error_code": "a 400 names a code openapi.yaml ties to what is wrong with the request",
}
LIFECYCLE_RULES = {
    "allowed_transition": "every state change a request shows is one the lifecycle table allows",
    "details_growth": "details grow step by step as documented and keep what they held",
    "terminal_state_stays": "a decided request never changes again",
    "decided_once": "a second decision of a decided request is refused (409, 2002)",
    "maker_is_not_checker": "the maker's decision of their own request is refused (403, 2001)",
    "org_isolation": "one organisation's request is never shown to another organisation",
}
RULES = {**EXCHANGE_RULES, **LIFECYCLE_RULES}


@dataclass(frozen=True)
class Finding:
    """A rule broken by one exchange (before it is made presentable, see `recorder.Violation`)."""

    rule: str
    message: str
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}")
