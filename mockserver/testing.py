"""Serve a mock on 127.0.0.1 from a test suite: a real HTTP server in a thread.

    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), strict=True)) as mock:
        requests.get(mock.base_url + "/__admin/health")
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Iterator

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from capillary_contract import users
from capillary_contract.http import basic_authorization

from .app import create_app
from .config import MockConfig
from .webhooks import stop as stop_webhooks

DEFAULT_ORG = str(users.DEFAULT_ORG)  # headers carry the org as text
SHUTDOWN_POLL_S = 0.01


@dataclass
class RunningMock:
    base_url: str
    app: Flask
    config: MockConfig

    def headers(self, user: str, password: str | None = None, org: str = DEFAULT_ORG) -> dict[str, str]:
        """Basic auth and org headers for a configured user (password defaults to the user name)."""
        return {"Authorization": basic_authorization(user, password if password is not None else user),
                "X-CAP-API-AUTH-ORG-ID": org}


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in test output; the journal has them."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@contextlib.contextmanager
def serve_in_thread(config: MockConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningMock]:
    app = create_app(config or MockConfig(db=":memory:", strict=True))
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    # serve_forever checks for shutdown() once per poll interval (0.5 s by default, which was the whole
    # cost of stopping a mock); 10 ms makes a teardown ~10 ms for a few wake-ups a second while idle.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                              name="mockserver", daemon=True)
    thread.start()
    try:
        yield RunningMock(f"http://{host}:{server.server_port}", app, app.extensions["mockserver"].config)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        stop_webhooks(app)
        app.extensions["mockserver"].store.close()
