"""Who the suite acts as: maker and checker from flags, plus the mock's other default users.

An auth flag is `basic:user:password` or `token:JWT`. With no auth flags the target is
assumed to be the mock, so its documented default users (DESIGN.md section 3) are known too
and the permission / isolation probes can use them; with flags, only maker and checker exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from capillary_contract import users
from capillary_contract.http import ORG_HEADER, TOKEN_HEADER, basic_authorization

DEFAULT_ORG = str(users.DEFAULT_ORG)  # headers carry the org as text


class AuthError(ValueError):
    """An auth flag that cannot be used."""


@dataclass(frozen=True)
class Identity:
    name: str
    org: str
    headers: dict[str, str] = field(default_factory=dict)
    login: str | None = None

    def with_org(self, org: str) -> dict[str, str]:
        """Headers for a call in `org` (normally the identity's own)."""
        return {**self.headers, ORG_HEADER: org}

    @property
    def request_headers(self) -> dict[str, str]:
        return self.with_org(self.org)


def parse_auth(name: str, spec: str, org: str) -> Identity:
    """`basic:user:password` or `token:JWT` -> an Identity."""
    kind, _, rest = spec.partition(":")
    if kind == "basic":
        user, sep, password = rest.partition(":")
        if not user or not sep:
            raise AuthError(f"--{name}-auth: expected basic:user:password, got {spec!r}")
        return Identity(name, org, {"Authorization": basic_authorization(user, password)}, login=user)
    if kind == "token":
        if not rest:
            raise AuthError(f"--{name}-auth: expected token:JWT")
        return Identity(name, org, {TOKEN_HEADER: rest})
    raise AuthError(f"--{name}-auth: expected basic:user:password or token:JWT, got {spec!r}")


@dataclass
class Cast:
    """The identities of one run. `extras` holds supervisor/viewer/outsider when known."""

    maker: Identity
    checker: Identity
    extras: dict[str, Identity] = field(default_factory=dict)

    @property
    def org(self) -> str:
        return self.maker.org


def build_cast(org: str | None, maker_auth: str | None, checker_auth: str | None) -> Cast:
    """Identities from the flags; the mock's default users where no flag was given."""
    org = org or DEFAULT_ORG
    defaults = maker_auth is None and checker_auth is None
    maker = parse_auth("maker", maker_auth or "basic:maker:maker", org)
    checker = parse_auth("checker", checker_auth or "basic:checker:checker", org)
    extras = {}
    if defaults and org == DEFAULT_ORG:
        for name in ("supervisor", "viewer", "outsider"):
            user = users.DEFAULT_USERS[name]
            extras[name] = parse_auth(name, f"basic:{user.username}:{user.password}", str(user.org))
    return Cast(maker, checker, extras)
