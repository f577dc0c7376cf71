"""A webhook receiver on 127.0.0.1 that records every POST and answers as scripted.

The contract suite collects a target's `requestWorkflowEvent`s with it; tests and benchmarks of
delivery rules script its answers: answer 503 twice then 200 to each event, 400 to
everything, answer late to force time-outs, or be down (not started) while events pile up.

    with Receiver(script=per_event(503, 503)) as hook:      # then 200
        ... subscribe hook.url, make requests, wait ...
        hook.accepted()   # the events it answered 2xx, in arrival order
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from .http import free_port

PATH = "/hooks"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay_s: float = 0.0   # wait this long before answering (longer than the sender's timeout: a time-out)


@dataclass(frozen=True)
class Received:
    at: float                  # time.time() on arrival
    path: str
    headers: dict[str, str]
    body: Any                  # the parsed JSON, or the raw text if it was not JSON
    answer: Answer
    is_json: bool = True       # False when `body` is raw text that did not parse


# A script sees the body and how many times this event (by eventId) arrived before.
Script = Callable[[Any, int], "Answer | int"]


def always(status: int) -> Script:
    return lambda body, seen: status


def per_event(*answers: "Answer | int", then: "Answer | int" = 200) -> Script:
    """The n-th arrival of each event gets answers[n]; later ones get `then`."""
    return lambda body, seen: answers[seen] if seen < len(answers) else then


class Receiver:
    def __init__(self, port: int = 0, host: str = "127.0.0.1", script: Script | None = None):
        self.host, self.port = host, port or free_port(host)
        self.script: Script = script or always(200)
        self.received: list[Received] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    # -- running ---------------------------------------------------------------------------
    def start(self) -> "Receiver":
        receiver = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self) -> tuple[socket.socket, Any]:
                conn, addr = super().get_request()
                with receiver._lock:
                    receiver._connections.add(conn)
                return conn, addr

        self._server = Server((self.host, self.port), _handler(self))
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"receiver-{self.port}",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut kept-alive connections: the receiver is down."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for conn in self._connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections.clear()
        self._server = None

    def __enter__(self) -> "Receiver":
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what arrived ----------------------------------------------------------------------
    def arrivals(self) -> list[Received]:
        """Everything that arrived so far, in arrival order (a copy)."""
        with self._lock:
            return list(self.received)

    def accepted(self) -> list[Any]:
        """Bodies answered 2xx, in arrival order."""
        with self._lock:
            return [r.body for r in self.received if 200 <= r.answer.status <= 299]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> bool:
        """Until `count` requests have arrived (True) or the time ran out (False)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def _take(self, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        is_json = True
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body, is_json = raw.decode("utf-8", "replace"), False
        event_id = body.get("eventId") if isinstance(body, dict) else None
        with self._lock:
            seen = self._seen.get(str(event_id), 0)
            self._seen[str(event_id)] = seen + 1
        answer = self.script(body, seen)
        answer = answer if isinstance(answer, Answer) else Answer(answer)
        with self._lock:
            self.received.append(Received(time.time(), path, headers, body, answer, is_json))
            self._lock.notify_all()
        return answer


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = receiver._take(self.path, dict(self.headers.items()), raw)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            payload = json.dumps({"received": 200 <= answer.status <= 299}).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True  # the sender gave up (time-out) and hung up

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
