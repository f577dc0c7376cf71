"""--include / --exclude: which operations a run tests, by tag (`legacy`), operationId (`decideRequest`,
`createRequest` for every type or `createRequest:GOODWILL-POINTS` for one), or `METHOD /path` as the
contract writes it. An operation is tested when it matches an --include (or none is given) and no
--exclude. Probes and the lifecycle machine run only when every operation they use is tested.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from capillary_contract.loader import Contract


@dataclass
class Selection:
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def selects(self, operation_id: str, tags: Iterable[str], method: str, path: str) -> bool:
        names = {operation_id, operation_id.partition(":")[0], *tags, f"{method.upper()} {path}", path}
        if self.include and not names & set(self.include):
            return False
        return not names & set(self.exclude)

    def selects_id(self, contract: Contract, operation_id: str) -> bool:
        base = operation_id.partition(":")[0]
        op = contract.operations[base]
        return self.selects(operation_id, op.raw.get("tags", []), op.method, op.path)

    def missing(self, contract: Contract, operation_ids: Iterable[str]) -> list[str]:
        """The operations of `operation_ids` this selection leaves out."""
        return [o for o in operation_ids if not self.selects_id(contract, o)]

    def unknown(self, contract: Contract) -> list[str]:
        """Selectors that name nothing in the contract (a typo would silently select nothing)."""
        known: set[str] = set()
        for op_id, op in contract.operations.items():
            known |= {op_id, *op.raw.get("tags", []), f"{op.method.upper()} {op.path}", op.path}
        known |= {f"createRequest:{t}" for t in contract.request_types}
        return [s for s in self.include + self.exclude if s not in known]
