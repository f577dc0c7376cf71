"""Who the suite acts as: one identity per role a core rule needs.

| role       | needed for                                              | flag               |
|------------|---------------------------------------------------------|--------------------|
| maker      | creating (CanMakeRequest)                               | --maker-auth       |
| checker    | deciding (CanCheckRequest)                              | --checker-auth     |
| supervisor | four-eyes: both permissions, deciding its own request   | --supervisor-auth  |
| viewer     | permissions: no permission at all                       | --viewer-auth      |
| outsider   | isolation: a user of another organisation               | --outsider-auth (+ --outsider-org) |
| integration| a trusted integration's request decided at once         | --integration-auth |

An auth flag is `basic:user:password` or `token:JWT`. With no auth flag at all the target is taken
to be the mock, whose default users (DESIGN.md section 3) fill every role; with flags, a role
without one is unknown and the rules needing it are reported as not checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from capillary_contract import users
from capillary_contract.http import ORG_HEADER, TOKEN_HEADER, basic_authorization

DEFAULT_ORG = str(users.DEFAULT_ORG)  # headers carry the org as text
OUTSIDER_ORG = str(users.OTHER_ORG)
ROLES = ("maker", "checker", "supervisor", "viewer", "outsider", "integration")  # each the mock's default user of that name


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

    @property
    def flag(self) -> str:
        return f"--{self.name}-auth"


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
    """The identities of one run. `extras` holds the supervisor, viewer and outsider that are known;
    `mock` says the identities are the mock's own (no auth flag given)."""

    maker: Identity
    checker: Identity
    extras: dict[str, Identity] = field(default_factory=dict)
    mock: bool = False

    @property
    def org(self) -> str:
        return self.maker.org

    def get(self, role: str) -> Identity | None:
        return {"maker": self.maker, "checker": self.checker}.get(role) or self.extras.get(role)

    @property
    def known(self) -> list[Identity]:
        return [who for who in (self.get(role) for role in ROLES) if who is not None]


def build_cast(org: str | None, maker_auth: str | None = None, checker_auth: str | None = None,
               supervisor_auth: str | None = None, viewer_auth: str | None = None,
               outsider_auth: str | None = None, outsider_org: str | None = None,
               integration_auth: str | None = None) -> Cast:
    """Identities from the flags; the mock's default users when no flag was given."""
    org = org or DEFAULT_ORG
    given = {"maker": maker_auth, "checker": checker_auth, "supervisor": supervisor_auth,
             "viewer": viewer_auth, "outsider": outsider_auth, "integration": integration_auth}
    mock = all(v is None for v in given.values())
    if outsider_auth is not None and not outsider_org:
        raise AuthError("--outsider-auth needs --outsider-org (the outsider's own organisation)")
    if outsider_org and outsider_org == org:
        raise AuthError(f"--outsider-org must be another organisation than --org {org}")
    identities: dict[str, Identity] = {}
    for role, spec in given.items():
        home = (outsider_org or OUTSIDER_ORG) if role == "outsider" else org
        if spec is None and (mock or role in ("maker", "checker")):
            user = users.DEFAULT_USERS[role]
            spec = f"basic:{user.username}:{user.password}"
        if spec is not None:
            identities[role] = parse_auth(role, spec, home)
    maker, checker = identities.pop("maker"), identities.pop("checker")
    return Cast(maker, checker, identities, mock=mock)
