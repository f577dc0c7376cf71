"""Serving under gunicorn: one app per worker process, state shared through SQLite.

Start-up work that must happen once (the webhook dispatcher) runs in the arbiter, not in
each worker. Decisions a crash left half-done need no start-up work: their claims lapse
(store/claims.py).
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

from gunicorn.app.base import BaseApplication
from gunicorn.workers import base

from .config import MockConfig
from .webhooks.running import on_exit as stop_webhook_dispatcher, on_ready as start_webhook_dispatcher

log = logging.getLogger("mockserver")
# Hooks other modules add (e.g. the webhook dispatcher), called with (config, server) when gunicorn is ready.
ON_READY: list[Callable[[MockConfig, Any], None]] = [start_webhook_dispatcher]
ON_EXIT: list[Callable[[MockConfig, Any], None]] = [stop_webhook_dispatcher]  # when the arbiter stops


class MockApplication(BaseApplication):
    def __init__(self, config: MockConfig, options: dict[str, Any], load_lock: str):
        self.mock_config = config
        self.options = options
        self.load_lock = load_lock
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The app of this worker. Workers load theirs one at a time (a file lock, released if the
        holder dies): two loading at once on two cores, beside the dispatcher, each took twice as
        long, so the first answer came after two loads' time instead of one."""
        with _held(self.load_lock):
            return worker_app(self.mock_config)


def worker_app(config: MockConfig) -> Any:
    """A served worker's app, with everything built so far frozen out of the cyclic collector
    (`gc.freeze`): the contract, Flask and the validators are ~40,000 tracked objects that live as
    long as the worker, and each full collection walked them all, holding every request queued on
    the worker for ~35 ms (the create p99 of the benchmark)."""
    import gc

    from .app import create_app
    app = create_app(config)
    gc.freeze()
    return app


def run(config: MockConfig, host: str, port: int, workers: int, threads: int) -> int:
    def when_ready(server: Any) -> None:
        for hook in ON_READY:
            hook(config, server)
        log.info("mock ready on http://%s:%d (state: %s)", host, port, config.db)

    def on_exit(server: Any) -> None:
        for hook in ON_EXIT:
            hook(config, server)

    # The worker class is the mock's own front (front.py): an asyncio loop reads each request within
    # bounds and a pool of `threads` runs the app, so no client can hold a process (see http1.py).
    # Its loop never runs app code, so it beats gunicorn's heartbeat however long a request takes.
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": "mockserver.server.FrontWorker", "preload_app": config.in_memory,
        "when_ready": when_ready, "on_exit": on_exit, "accesslog": None, "errorlog": "-", "loglevel": "warning",
        "graceful_timeout": 5, "timeout": 30,
    }
    fd, load_lock = tempfile.mkstemp(prefix="mockserver-load-", suffix=".lock")
    os.close(fd)
    try:
        MockApplication(config, options, load_lock).run()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(load_lock)
    return 0


@contextlib.contextmanager
def _held(path: str) -> Iterator[None]:
    """An exclusive lock on the file at `path` (none where there is no fcntl)."""
    if fcntl is None:
        yield
        return
    with open(path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class FrontWorker(base.Worker):
    """gunicorn worker class running a `Front` (`worker_class="mockserver.server.FrontWorker"`)."""

    def init_process(self) -> None:
        import asyncio  # the worker's: gunicorn loads this class in the arbiter, which needs none of it
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        super().init_process()

    def init_signals(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            self.loop.add_signal_handler(sig, self._stop_signal)
        self.loop.add_signal_handler(signal.SIGUSR1, self.log.reopen_files)

    def _stop_signal(self) -> None:
        self.alive = False

    def run(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        import asyncio

        from .front import Front  # here, in the worker: gunicorn loads this class in the arbiter too
        state = self.wsgi.extensions["mockserver"]
        front = Front(self.wsgi, state.config.max_body_bytes, max(self.cfg.threads, 1),
                      inline=not state.store.waits_on_network)
        stops = [front.listen(listener.sock) for listener in self.sockets]
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                log.info("the arbiter is gone; worker %d stops", os.getpid())
                break
            await asyncio.sleep(0.5)
        for stop in stops:
            stop()
        await front.stop(self.cfg.graceful_timeout)
        # Every connection's task ends here, inside the loop: one left pending when the loop closes is
        # torn down by the garbage collector during interpreter exit (it crashed CPython 3.11 there).
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        _, pending = await asyncio.wait(tasks, timeout=1.0) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
