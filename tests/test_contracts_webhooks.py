"""Webhook conformance of `contracts run --webhook-listen`: the mock's events pass; events bent on
their way (by a relay the mock is told to deliver to instead of the suite) are caught."""
from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Callable

import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from capillary_contract.http import free_port
from threaded_servers import QuietHandler
from contracts.run.runner import RunOptions, run
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread


class Relay:
    """Receives the mock's events, bends each with `bend` (None drops it) and forwards it to `target`."""

    def __init__(self, bend: Callable[[dict], dict | None]):
        self.target: str | None = None
        relay = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                event = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                bent = bend(event)
                if bent is not None and relay.target:
                    requests.post(relay.target, json=bent, timeout=5)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/relay"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def through_relay(app: Any, relay: Relay) -> Callable:
    """The suite subscribes itself; the mock is subscribed to the relay instead, which forwards to the suite."""
    def wsgi(environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        if request.method == "POST" and request.path == "/__admin/subscriptions":
            relay.target = request.get_json()["url"]
            builder = EnvironBuilder(method="POST", path=request.path, json={"url": relay.url})
            return Response.from_app(app, builder.get_environ())(environ, start_response)
        return app(environ, start_response)
    return wsgi


def _run(tmp_path, relay: Relay | None = None) -> tuple[int, dict]:
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"))) as mock:
        if relay is not None:
            mock.app.wsgi_app = through_relay(mock.app.wsgi_app, relay)
        code = run(RunOptions(base_url=mock.base_url, seed=11, max_examples=5, report=str(tmp_path / "r.json"),
                              webhook_listen=free_port(), webhook_wait=3.0, phases=("probes", "machine")))
    if relay is not None:
        relay.close()
    return code, json.loads((tmp_path / "r.json").read_text())


def test_the_mocks_events_conform(tmp_path):
    code, report = _run(tmp_path)
    assert report["phases"]["webhooks"]["cases"] > 10
    assert [f for f in report["failures"] if f["phase"] == "webhooks"] == []
    assert code == (1 if report["failures"] else 0)


def _screaming_to_kebab(event: dict) -> dict:
    event["data"]["requestType"] = event["data"]["requestType"].lower().replace("_", "-")
    return event


def _drop_decisions(event: dict) -> dict | None:
    return event if event["data"]["currentRequestState"] == "AdminTask" else None


def _bad_ref(event: dict) -> dict:
    event["refId"] = f"0_{event['data']['requestId']}" if event["orgId"] else f"1_{event['data']['requestId']}"
    return event


def test_bent_events_are_caught(tmp_path):
    caught = {}
    for name, bend, expected in [("kebab type", _screaming_to_kebab, "webhook_schema"),
                                 ("decisions never sent", _drop_decisions, "webhook_sequence"),
                                 ("wrong refId", _bad_ref, "webhook_fields")]:
        where = tmp_path / name.replace(" ", "_")
        where.mkdir()
        code, report = _run(where, Relay(bend))
        caught[name] = {f["check"] for f in report["failures"] if f["phase"] == "webhooks"}
        assert code == 1 and expected in caught[name], (name, caught[name])
