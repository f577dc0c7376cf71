"""Stand-in HTTP servers for tests (a wrapped Intouch API, a relay, a broken deployment), run in a
thread on a free loopback port and always stopped: one way to do it, so no test leaks a server."""
from __future__ import annotations

import contextlib
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that keeps the test output clean and answers JSON in one call."""

    def log_message(self, *args: Any) -> None:
        pass

    def answer_json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[str]:
    """Serve `server` (already bound to 127.0.0.1) in a thread; yields its base URL; stops it after."""
    thread = threading.Thread(target=server.serve_forever, name=type(server).__name__, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def serving_handler(handler: type[BaseHTTPRequestHandler]) -> contextlib.AbstractContextManager[str]:
    """`serving` for a plain http.server handler class, on a free port."""
    return serving(ThreadingHTTPServer(("127.0.0.1", 0), handler))
