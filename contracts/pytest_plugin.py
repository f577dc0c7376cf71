"""The kit's pytest plugin (entry point `capillary`, active once the kit is installed).

Fixtures (each can be overridden by defining one of the same name in a conftest.py):
- `capillary_mock` (session): the target. A real mock served on 127.0.0.1 by this process (one per
  pytest-xdist worker, each with its own SQLite file), or the deployment `--capillary-base-url URL`
  (or $CAPILLARY_BASE_URL) names. Its `.base_url`.
- `capillary_config` (session): the MockConfig the session's mock is served with.
- `capillary` (function): a `contracts.testkit.Capillary` for one test; the mock is reset first.

Markers:
- `@pytest.mark.capillary_control`: the test needs the mock's control API; skipped elsewhere.
- `@pytest.mark.capillary_users("users.yaml")`: this test gets its own mock serving that users file.
- `@pytest.mark.capillary_outcome("failure", request_type="POINTS-REDEMPTION", count=1)`: the next
  approvals' wrapped calls are forced, as `capillary.force_outcome` does.

The kit's modules are imported when a fixture is first used, not when pytest loads the plugin, so
an installed kit costs other test suites nothing.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest

BASE_URL_ENV = "CAPILLARY_BASE_URL"
MARKERS = {
    "capillary_control": "the test needs the mock's control API (/__admin/); skipped against another deployment",
    "capillary_users(path)": "serve this test its own mock with the users file at `path` (as `mockserver serve --config`)",
    "capillary_outcome(outcome, request_type=None, count=1, **fault)": "force the next approvals' wrapped-call "
                                                                      "outcome before the test",
}
REACH_TIMEOUT_S = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("capillary", "Capillary workflow kit")
    group.addoption("--capillary-base-url", metavar="URL", default=None,
                    help=f"run the capillary fixtures against this deployment instead of a mock served by the "
                         f"session (also ${BASE_URL_ENV}); tests needing the control API are skipped")
    group.addoption("--capillary-auth", metavar="ROLE=AUTH[@ORG]", action="append", default=[],
                    help="a role's credentials on the target, AUTH as `contracts run` takes it (basic:user:password "
                         "or token:JWT), and the org it acts in (default 51250); repeatable, e.g. "
                         "maker=basic:ann:secret@1001")


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    if config.getoption("capillary_auth"):
        _logins(config)  # unusable flags stop the run here, before any test
    url = remote_base_url(config)
    if url is not None:
        import requests
        try:
            requests.get(url, timeout=REACH_TIMEOUT_S)
        except requests.RequestException as exc:
            raise pytest.UsageError(f"--capillary-base-url {url}: the target is unreachable ({exc})") from None


def remote_base_url(config: pytest.Config) -> str | None:
    """The deployment named by --capillary-base-url or $CAPILLARY_BASE_URL; None: serve a mock."""
    url = config.getoption("capillary_base_url") or os.environ.get(BASE_URL_ENV) or None
    return url.rstrip("/") if url else None


def _logins(config: pytest.Config) -> dict[str, Any]:
    """The default users' logins, with the roles given by --capillary-auth replaced."""
    from capillary_contract.users import DEFAULT_ORG
    from .run.identities import AuthError, parse_auth
    from .testkit import default_logins
    logins = default_logins()
    for item in config.getoption("capillary_auth"):
        role, sep, auth = item.partition("=")
        if not sep or not role:
            raise pytest.UsageError(f"--capillary-auth: expected ROLE=AUTH[@ORG], got {item!r}")
        head, at, org = auth.rpartition("@")
        if not (at and org.isdigit()):
            head, org = auth, str(DEFAULT_ORG)
        try:
            logins[role] = parse_auth(role, head, org)
        except AuthError as exc:
            raise pytest.UsageError(str(exc).replace(f"--{role}-auth", f"--capillary-auth {role}")) from None
    return logins


@pytest.fixture(scope="session")
def capillary_config(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """How the session's mock is served (override it to serve `examples=True`, other webhook rules, …)."""
    from mockserver.config import DeliveryPolicy, MockConfig
    # Retries come quickly so a webhook test's failing receiver settles within `events(wait=True)`.
    return MockConfig(db=str(tmp_path_factory.mktemp("capillary") / "state.db"), strict=True,
                      delivery=DeliveryPolicy(timeout_s=2.0, base_delay_s=0.05, max_delay_s=0.2, max_attempts=3))


@pytest.fixture(scope="session")
def capillary_mock(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The target of the session (a `contracts.testkit.Target`): a mock served here on 127.0.0.1
    (its users as logins), or the deployment --capillary-base-url names (the default users'
    logins, with those --capillary-auth gives)."""
    from .testkit import Target
    url = remote_base_url(request.config)
    if url is not None:
        yield Target(url, controllable=False, logins=_logins(request.config))
        return
    with _served(request.getfixturevalue("capillary_config")) as target:
        yield target


@contextlib.contextmanager
def _served(config: Any) -> Iterator[Any]:
    """A mock served on 127.0.0.1 with `config`; the users it serves (its users file's, or the
    defaults) are the target's logins."""
    from mockserver.identity import Directory
    from mockserver.testing import serve_in_thread
    from .run.identities import parse_auth
    from .testkit import Target
    served = Directory.from_file(config.users_file, config.jwt_secret).users.values()
    logins = {u.username: parse_auth(u.username, f"basic:{u.username}:{u.password}", str(u.org_id)) for u in served}
    with serve_in_thread(config) as mock:
        yield Target(mock.base_url, controllable=True, logins=logins)


@pytest.fixture
def capillary(request: pytest.FixtureRequest, capillary_mock: Any) -> Iterator[Any]:
    """One test's handle on the target (a `contracts.testkit.Capillary`), the mock reset first."""
    from capillary_contract.loader import load_contract
    from .testkit import CONTROL_REASON, Capillary
    target = capillary_mock
    if request.node.get_closest_marker("capillary_control") and not target.controllable:
        pytest.skip(CONTROL_REASON.format(url=target.base_url))
    with contextlib.ExitStack() as stack:
        users = request.node.get_closest_marker("capillary_users")
        if users is not None:
            target = stack.enter_context(_own_mock(request, target, Path(users.args[0])))
        kit = Capillary(target, load_contract())
        stack.callback(kit.close)
        if target.controllable:
            kit.reset()
        for marker in request.node.iter_markers("capillary_outcome"):
            kit.force_outcome(*marker.args, **marker.kwargs)
        yield kit


@contextlib.contextmanager
def _own_mock(request: pytest.FixtureRequest, shared: Any, users_file: Path) -> Iterator[Any]:
    """A mock of its own for one test, serving `users_file` (relative to the test's file)."""
    shared.require_control()
    if not users_file.is_absolute():
        users_file = Path(request.path).parent / users_file
    config = replace(request.getfixturevalue("capillary_config"), users_file=users_file,
                     db=str(request.getfixturevalue("tmp_path") / "state.db"))
    with _served(config) as target:
        yield target
