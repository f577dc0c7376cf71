"""Serving under gunicorn: one app per worker process, state shared through SQLite.

Start-up work that must happen once (the webhook dispatcher) runs in the arbiter, not in
each worker. Decisions a crash left half-done need no start-up work: their claims lapse
(store/claims.py).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from gunicorn.app.base import BaseApplication

from .config import MockConfig
from .webhooks import on_ready as start_webhook_dispatcher

log = logging.getLogger("mockserver")
MAX_HEADER_BYTES = 1024 * 1024  # the same bound as a body
# Hooks other modules add (e.g. the webhook dispatcher), called with (config, server) when gunicorn is ready.
ON_READY: list[Callable[[MockConfig, Any], None]] = [start_webhook_dispatcher]


class MockApplication(BaseApplication):
    def __init__(self, config: MockConfig, options: dict[str, Any]):
        self.mock_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .app import create_app
        return create_app(self.mock_config)


def run(config: MockConfig, host: str, port: int, workers: int, threads: int) -> int:
    def when_ready(server: Any) -> None:
        for hook in ON_READY:
            hook(config, server)
        log.info("mock ready on http://%s:%d (state: %s)", host, port, config.db)

    # One thread per worker process ("sync") by default: under wrk -t2 -c16 on 2 cores it served ~20%
    # more creates than 2 x 8 threads, with half the p99, since no thread waits for the GIL while it
    # holds the store's write lock. gunicorn switches to "gthread" by itself when threads > 1.
    # A sync worker is busy for the whole of a request, so the time-out covers the longest documented
    # one (a 60 s `waitFor` plus a 30 s fault latency) rather than killing it.
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "sync",
        "preload_app": config.in_memory, "when_ready": when_ready, "accesslog": None,
        "errorlog": "-", "loglevel": "warning", "graceful_timeout": 5, "timeout": 120, "keepalive": 5,
        # Generous limits in gunicorn's parser: a long URL or header would be refused there with an HTML
        # 414/431 page; the app's own checks answer it in the contract's envelope instead. (0 means no
        # limit for the request line, but the 8 KiB default for header fields.)
        "limit_request_line": 0, "limit_request_field_size": MAX_HEADER_BYTES, "limit_request_fields": 1000,
    }
    MockApplication(config, options).run()
    return 0
