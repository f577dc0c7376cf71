"""The contract's request checks (capillary_contract.requests), answered as the mock's errors.

The check order and every code come from the contract package; the mock supplies its user
directory and turns a `Refusal` into the `ApiError` its error handler renders.
"""
from __future__ import annotations

from typing import Mapping

from capillary_contract.loader import Contract, Operation
from capillary_contract.requests import Checked, Refusal, RequestChecks
from .errors import ApiError
from .identity import Directory


class RequestValidator:
    """The mock's view of `RequestChecks`: same checks, refusals raised as `ApiError`."""

    def __init__(self, contract: Contract, directory: Directory | None, max_depth: int = 64):
        self.checks = RequestChecks(contract, directory, max_depth)

    def check(self, op: Operation, *, headers: Mapping[str, str], path_params: Mapping[str, str],
              query: Mapping[str, list[str]], content_type: str | None, raw_body: bytes | None) -> Checked:
        try:
            return self.checks.check(op, headers=headers, path_params=path_params, query=query,
                                     content_type=content_type, raw_body=raw_body)
        except Refusal as refusal:
            raise ApiError(refusal.status, refusal.problems) from None
