"""Where the one dispatcher runs.

- `mockserver serve` with a database file: gunicorn's arbiter starts it once, as its own
  process (`on_ready`, hooked into `server.ON_READY`), and the workers forked after that run
  none. The process exits when the arbiter is gone, even after a kill -9 of the arbiter.
- An app made by `create_app` in any other way (tests, `serve_in_thread`, a `:memory:`
  database under gunicorn, whose one worker holds the data): a thread in that process,
  started with the app (`:memory:`: at the first request, in the process serving it),
  stopped by `stop(app)` or when the app is garbage-collected.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from typing import Any

from flask import Flask, Response

from ..config import MockConfig
from ..store import Store, open_store
from .dispatcher import Dispatcher

log = logging.getLogger("mockserver.webhooks")
EXTENSION = "mockserver.webhooks"
THREAD_MAX_WAIT_S = 0.5   # in-process, requests wake the dispatcher; this only bounds a missed wake
STOP_JOIN_S = 15.0
_dispatcher_elsewhere = False  # set in the gunicorn arbiter before it forks workers


def prepare(store: Store, config: MockConfig) -> None:
    """This start's `--webhook` subscriptions."""
    with store.transaction() as tx:
        tx.sync_startup_subscriptions((sub.url, sub.headers) for sub in config.webhooks)


# -- in this process: a thread --------------------------------------------------------------
class InProcess:
    """The app's dispatcher thread, (re)started in whichever process serves the app."""

    def __init__(self, app: Flask):
        state = app.extensions["mockserver"]
        self.store, self.config = state.store, state.config
        self._app = weakref.ref(app)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.dispatcher: Dispatcher | None = None
        self.thread: threading.Thread | None = None
        self._stopped = False

    def ensure_running(self) -> None:
        if self._pid == os.getpid() or self._stopped:
            return
        with self._lock:
            if self._pid == os.getpid() or self._stopped:
                return
            self.dispatcher = Dispatcher(self.store, self.config.delivery, THREAD_MAX_WAIT_S)
            app_ref = self._app
            self.thread = threading.Thread(target=self.dispatcher.run, kwargs={"alive": lambda: app_ref() is not None},
                                           name="webhook-dispatcher", daemon=True)
            self.thread.start()
            self._pid = os.getpid()

    def nudge(self, response: Response) -> Response:
        if self.dispatcher is not None and self._pid == os.getpid():
            self.dispatcher.wake()
        return response

    def stop(self, timeout_s: float = STOP_JOIN_S) -> None:
        self._stopped = True
        if self.dispatcher is not None and self._pid == os.getpid():
            self.dispatcher.stop()
            if self.thread is not None:
                self.thread.join(timeout_s)


def attach(app: Flask) -> None:
    """Run a dispatcher for this app unless the config says not to or one runs elsewhere."""
    state = app.extensions["mockserver"]
    if not state.config.dispatch or _dispatcher_elsewhere:
        return
    runner = InProcess(app)
    app.extensions[EXTENSION] = runner
    app.before_request(runner.ensure_running)
    app.after_request(runner.nudge)
    if not state.config.in_memory:
        runner.ensure_running()


def stop(app: Flask) -> None:
    """Stop the app's dispatcher thread, finishing sends under way (no-op if it has none)."""
    runner = app.extensions.get(EXTENSION)
    if runner is not None:
        runner.stop()


# -- under gunicorn: a process started by the arbiter ---------------------------------------
def on_ready(config: MockConfig, server: Any) -> None:
    """`server.ON_READY` hook, run once in the arbiter before it forks workers."""
    global _dispatcher_elsewhere
    if not config.dispatch or config.in_memory:
        return  # :memory: lives in the one worker: its app runs the dispatcher as a thread
    _dispatcher_elsewhere = True
    # A fresh interpreter (not a fork of the arbiter, not multiprocessing, whose bookkeeping the
    # forked workers would inherit); it gets the config on stdin.
    process = subprocess.Popen([sys.executable, "-c", f"from {__name__} import main; main()"], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(pickle.dumps((config, os.getpid())))
    process.stdin.close()
    log.info("webhook dispatcher started (pid %d)", process.pid)


def run_process(config: MockConfig, parent_pid: int) -> None:
    """The dispatcher process: until SIGTERM/SIGINT or until its parent (the arbiter) is gone."""
    store = open_store(config)
    prepare(store, config)
    dispatcher = Dispatcher(store, config.delivery, config.delivery.poll_interval_s)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dispatcher.stop())
    dispatcher.run(alive=lambda: os.getppid() == parent_pid)
    store.close()


def main() -> None:
    """Entry of the dispatcher process `on_ready` starts: (config, arbiter pid) pickled on stdin."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_process(*pickle.loads(sys.stdin.buffer.read()))
