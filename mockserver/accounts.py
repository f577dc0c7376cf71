"""The admin API's view of the mock's users: who they are (never their passwords), and tokens.

Browser tools (the inbox at /__admin/ui, a frontend's login screen) act as a chosen user by
asking for that user's `X-CAP-UI-AUTH-TOKEN` here, so no password has to live in a page.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from .errors import ApiError
from .identity import TOKEN_HEADER, User
from .state import mock_state

bp = Blueprint("accounts", __name__)


def user_view(user: User) -> dict[str, Any]:
    """A user as the admin API shows it: everything but the password."""
    return {"username": user.username, "id": user.user_id, "org": user.org_id,
            "permissions": sorted(user.permissions), "email": user.email, "trusted": user.trusted}


@bp.get("/__admin/users", endpoint="adminListUsers")
def list_users() -> Any:
    return {"users": [user_view(u) for u in mock_state().directory.users.values()]}


@bp.post("/__admin/tokens", endpoint="adminIssueToken")
def issue_token() -> Any:
    state = mock_state()
    username = g.checked.body["username"]
    user = state.directory.users.get(username)
    if user is None:
        raise ApiError.of(404, None, "username", "no such user")
    if "password" in g.checked.body and not state.directory.password_matches(user, g.checked.body["password"]):
        raise ApiError.of(401, None, "password", "wrong password")  # a login screen's failure, to build against
    return {"token": state.directory.issue_token(user.username), "header": TOKEN_HEADER,
            "expiresIn": state.config.token_ttl_s, "user": user_view(user)}, 201
