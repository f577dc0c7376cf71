"""Who is calling: users, organisations and permissions, and the two ways to prove it.

Capillary documents Basic auth (`user:password`, or `user:md5(password)` for till
credentials) and an Intouch user JWT in `X-CAP-UI-AUTH-TOKEN`; both are accepted here.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from capillary_contract.requests import BAD_CREDENTIALS, Refusal

from capillary_contract.http import TOKEN_HEADER
from capillary_contract.users import DEFAULT_ORG, DEFAULT_USERS as DEFAULT_IDENTITIES

TIME_CLAIMS = ("exp", "iat", "nbf")  # NumericDate claims (RFC 7519 section 2): JSON numbers only


@dataclass(frozen=True)
class User:
    username: str
    password: str
    user_id: int
    org_id: int
    permissions: frozenset[str]
    email: str
    trusted: bool = False  # a trusted integration: its retro requests skip the checker

    def can(self, any_of: Iterable[str]) -> bool:
        return any(p in self.permissions for p in any_of)


DEFAULT_USERS = tuple(
    User(d.username, d.password, d.user_id, d.org, frozenset(d.permissions), d.email or f"{d.username}@capillary.mock",
         d.trusted)
    for d in DEFAULT_IDENTITIES.values())


class Directory:
    """The configured users, and credential checks against them."""

    def __init__(self, users: Iterable[User], secret: str, token_ttl_s: int = 3600):
        self.users = {u.username: u for u in users}
        self._by_id = {u.user_id: u for u in self.users.values()}
        self._secret = secret
        self._ttl = token_ttl_s

    @classmethod
    def from_file(cls, path: Path | None, secret: str, token_ttl_s: int = 3600) -> "Directory":
        """Users from a YAML/JSON file (`users: [{username, password, id, org, permissions, email, trusted}]`)."""
        if path is None:
            return cls(DEFAULT_USERS, secret, token_ttl_s)
        import yaml  # only a --config users file is YAML
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        users = [
            User(str(u["username"]), str(u["password"]), int(u["id"]), int(u.get("org", DEFAULT_ORG)),
                 frozenset(u.get("permissions", [])), str(u.get("email", f"{u['username']}@capillary.mock")),
                 bool(u.get("trusted", False)))
            for u in raw.get("users", [])
        ]
        if not users:
            raise ValueError(f"{path}: no users under 'users:'")
        return cls(users, secret, token_ttl_s)

    def by_id(self, user_id: int) -> User | None:
        return self._by_id.get(user_id)

    # -- credentials -------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str]) -> User | None:
        """The user the request's credentials prove; None when there are none; `Refusal` (401)
        saying what is wrong with credentials that do not prove anyone."""
        token = headers.get(TOKEN_HEADER)
        if token:
            user, problem = self.check_token(token)
            if user is None:
                raise Refusal.of(401, BAD_CREDENTIALS, TOKEN_HEADER, problem)
            return user
        auth = headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            user = self._basic(auth[6:].strip())
            if user is None:
                raise Refusal.of(401, BAD_CREDENTIALS, "Authorization", "unknown user or wrong password")
            return user
        if auth[:7].lower() == "bearer ":
            raise Refusal.of(401, BAD_CREDENTIALS, "Authorization",
                             f"a token goes in {TOKEN_HEADER} (the token alone), not in Authorization: Bearer")
        return None

    def _basic(self, encoded: str) -> User | None:
        try:
            username, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        user = self.users.get(username)
        if user is None:
            return None
        return user if self.password_matches(user, secret) else None

    @staticmethod
    def password_matches(user: User, secret: str) -> bool:
        """The password, or its md5 (till credentials), in constant time; compared as UTF-8 bytes
        (`hmac.compare_digest` refuses non-ASCII `str`: a TypeError, once a 500)."""
        password = user.password.encode("utf-8")
        digest = hashlib.md5(password).hexdigest().encode("ascii")
        sent = secret.encode("utf-8")
        return hmac.compare_digest(sent, password) or hmac.compare_digest(sent.lower(), digest)

    def issue_token(self, username: str, ttl_s: int | None = None, now: float | None = None) -> str:
        """An HS256 JWT for a configured user, as `mockserver token USER` prints it."""
        user = self.users[username]
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": user.username, "uid": user.user_id, "org": user.org_id,
            "perms": sorted(user.permissions), "iat": issued, "exp": issued + (ttl_s or self._ttl),
        }
        import jwt  # PyJWT (and the urllib.request it imports) is ~17 ms of start-up: loaded when first used
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_token(self, token: str) -> User | None:
        return self.check_token(token)[0]

    def check_token(self, token: str) -> tuple[User | None, str]:
        """The token's user, or None and what is wrong with the token (for the 401's `detail`)."""
        if token[:7].lower() == "bearer ":
            return None, f"send the token alone in {TOKEN_HEADER}, without 'Bearer '"
        import jwt  # see issue_token
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            return None, "the token has expired: get a new one (POST /__admin/tokens or mockserver token USER)"
        except jwt.InvalidSignatureError:
            return None, "the token is not signed with this mock's secret (--jwt-secret)"
        except jwt.MissingRequiredClaimError as exc:
            return None, f"the token has no '{exc.claim}' claim"
        except jwt.DecodeError:
            return None, "not a JWT (three base64url parts separated by dots)"
        except jwt.PyJWTError as exc:
            return None, f"the token is not valid: {exc}"
        if not all(_is_number(claims[name]) for name in TIME_CLAIMS if name in claims):
            # PyJWT takes "exp": "9999999999" as a number; RFC 7519 says NumericDate
            return None, f"the token's time claims ({', '.join(TIME_CLAIMS)}) must be numbers"
        user = self.users.get(str(claims.get("sub")))
        if user is None or claims.get("uid") != user.user_id:
            return None, f"the token's user {str(claims.get('sub'))[:100]!r} is not one of this mock's users"
        return user, ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
