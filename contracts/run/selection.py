"""--include / --exclude: which operations a run tests, by tag (`legacy`), operationId
(`createGoodwillPointsRequest`), workflow role (`createRequest` / `decideRequest` for every type's
create / decide operation, `createRequest:GOODWILL-POINTS` for one type's), or `METHOD /path` as the
contract writes it. An operation is tested when it matches an --include (or none is given) and no
--exclude. Probes and the lifecycle machine run only when every operation they use is tested.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from capillary_contract.loader import CREATE_ROLE, DECIDE_ROLE, Contract

ROLE_NAMES = {CREATE_ROLE: "createRequest", DECIDE_ROLE: "decideRequest"}  # every type's create / decide


@dataclass
class Selection:
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def selects(self, operation_id: str, tags: Iterable[str], method: str, path: str,
                contract: Contract | None = None) -> bool:
        names = {operation_id, *tags, f"{method.upper()} {path}", path}
        if contract is not None:
            names |= set(_role_names(contract, operation_id))
        if self.include and not names & set(self.include):
            return False
        return not names & set(self.exclude)

    def selects_id(self, contract: Contract, operation_id: str) -> bool:
        """An operationId, or a workflow role (`createRequest`: every type's create is selected)."""
        ops = operations_named(contract, operation_id)
        return all(self.selects(o, contract.operations[o].raw.get("tags", []), contract.operations[o].method,
                                contract.operations[o].path, contract) for o in ops)

    def missing(self, contract: Contract, operation_ids: Iterable[str]) -> list[str]:
        """The operations (or roles) of `operation_ids` this selection leaves out."""
        return [o for o in operation_ids if not self.selects_id(contract, o)]

    def unknown(self, contract: Contract) -> list[str]:
        """Selectors that name nothing in the contract (a typo would silently select nothing)."""
        known: set[str] = set()
        for op_id, op in contract.operations.items():
            known |= {op_id, *op.raw.get("tags", []), f"{op.method.upper()} {op.path}", op.path}
            known |= set(_role_names(contract, op_id))
        return [s for s in self.include + self.exclude if s not in known]


def _role_names(contract: Contract, operation_id: str) -> list[str]:
    """`createRequest` and `createRequest:<TYPE>` for a type's create operation (likewise decide)."""
    role = contract.workflow_role(operation_id)
    return [ROLE_NAMES[role[0]], f"{ROLE_NAMES[role[0]]}:{role[1]}"] if role else []


def operations_named(contract: Contract, name: str) -> list[str]:
    """The operationIds a name stands for: itself, or every operation of a workflow role."""
    if name in contract.operations:
        return [name]
    return [o for o in contract.operations if name in _role_names(contract, o)]
