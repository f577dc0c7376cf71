"""The kit's default identities (DESIGN.md §3), in one table.

Not Capillary's contract but this kit's promise: the users the mock serves unless a users file
replaces them, and so the ones the contract suite, the fixtures and the pytest plugin log in as
when they target the mock. Each password is the user's name.

    >>> DEFAULT_USERS["checker"].user_id, DEFAULT_USERS["checker"].password
    (233253, 'checker')
"""
from __future__ import annotations

from dataclasses import dataclass

CAN_MAKE = "CanMakeRequest"
CAN_CHECK = "CanCheckRequest"
DEFAULT_ORG = 51250  # the org of Capillary's documented examples
OTHER_ORG = 51251    # the outsider's: a second org, for isolation


@dataclass(frozen=True)
class DefaultUser:
    username: str
    user_id: int
    permissions: tuple[str, ...]
    org: int = DEFAULT_ORG
    email: str | None = None
    trusted: bool = False  # a trusted integration: its retro requests skip the checker

    @property
    def password(self) -> str:
        return self.username


DEFAULT_USERS = {user.username: user for user in (
    # The maker and checker carry the ids (and the maker the userName) of Capillary's documented examples.
    DefaultUser("maker", 232134, (CAN_MAKE,), email="tomswayer@tipent.com"),
    DefaultUser("checker", 233253, (CAN_CHECK,)),
    DefaultUser("supervisor", 240001, (CAN_MAKE, CAN_CHECK)),
    DefaultUser("viewer", 240002, ()),
    DefaultUser("outsider", 250001, (CAN_MAKE, CAN_CHECK), org=OTHER_ORG),
    DefaultUser("integration", 240003, (CAN_MAKE,), trusted=True),
)}
