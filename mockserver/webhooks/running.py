"""Where the one dispatcher runs.

- `mockserver serve` with a database file: gunicorn's arbiter starts it once, as its own
  process (`on_ready`, hooked into `server.ON_READY`), and the workers forked after that run
  none. A `Supervisor` thread in the arbiter starts it again whenever it dies (a kill -9, a crash)
  and stops it when the arbiter exits (`on_exit`); a stop signal to the arbiter (a Ctrl-C reaches
  the dispatcher too) tells it first, so that exit is not taken for a death. The process exits
  by itself within a fraction of a second when the arbiter is gone (even after a kill -9 of the
  arbiter), and within about a second of a SIGTERM, whatever its receivers are doing.
- An app made by `create_app` in any other way (tests, `serve_in_thread`, a `:memory:`
  database under gunicorn, whose one worker holds the data): a thread in that process,
  started with the app (`:memory:`: at the first request, in the process serving it),
  stopped by `stop(app)` or when the app is garbage-collected.
"""
from __future__ import annotations

import base64
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from ..config import MockConfig
from ..store import Store, open_store
from .dispatcher import Dispatcher

if TYPE_CHECKING:  # the arbiter and the dispatcher process import this module; Flask is the apps'
    from flask import Flask, Response

log = logging.getLogger("mockserver.webhooks")
EXTENSION = "mockserver.webhooks"
THREAD_MAX_WAIT_S = 0.5   # in-process, requests wake the dispatcher; this only bounds a missed wake
STOP_JOIN_S = 15.0
RESTART_DELAY_S, MAX_RESTART_DELAY_S = 0.5, 10.0  # after a death; doubled while it keeps dying young
_dispatcher_elsewhere = False  # set in the gunicorn arbiter before it forks workers
_supervisor: "Supervisor | None" = None
CONFIG_ENV = "MOCKSERVER_DISPATCHER_CONFIG"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)  # gunicorn's arbiter stops on these


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
class Supervisor:
    """Keeps one dispatcher process alive for the arbiter it runs in."""

    def __init__(self, config: MockConfig):
        self.config = config
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="webhook-supervisor", daemon=True)

    def start(self) -> "Supervisor":
        # The first one is started here, in the arbiter's main thread before it forks any worker: a
        # worker forked while Popen waits for its child's exec holds that wait's pipe open, and Popen
        # (and so the supervisor, which then restarts nothing) blocked until the worker ended.
        self.process = self._spawn()
        log.info("webhook dispatcher started (pid %d)", self.process.pid)
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen:
        # A fresh interpreter (not a fork of the arbiter, not multiprocessing, whose bookkeeping the
        # forked workers would inherit). It gets the config in its environment, not on a pipe: a
        # worker forked while the pipe was open would hold its write end, and the read never end.
        payload = base64.b64encode(pickle.dumps((self.config, os.getpid()))).decode("ascii")
        return subprocess.Popen([sys.executable, "-c", f"from {__name__} import main; main()"],
                                stdin=subprocess.DEVNULL, env={**os.environ, CONFIG_ENV: payload})

    def _watch(self) -> None:
        delay = RESTART_DELAY_S
        while not self._stop.is_set():
            if self.process is None:
                with self._lock:
                    if self._stop.is_set():
                        return
                    self.process = self._spawn()
                log.info("webhook dispatcher started (pid %d)", self.process.pid)
            born = time.monotonic()
            # Returns when it exits, or at once if gunicorn's SIGCHLD handler reaped it first.
            code = self.process.wait()
            if self._stop.is_set():
                return
            self.restarts += 1
            delay = RESTART_DELAY_S if time.monotonic() - born > 10 else min(delay * 2, MAX_RESTART_DELAY_S)
            log.warning("webhook dispatcher (pid %d) exited (%s); starting another in %.1f s",
                        self.process.pid, code, delay)
            self.process = None
            self._stop.wait(delay)

    def stopping(self) -> None:
        """The arbiter is stopping: a dispatcher that exits from now on is not replaced."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            self._stop.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()


def on_ready(config: MockConfig, server: Any) -> None:
    """`server.ON_READY` hook, run once in the arbiter before it forks workers."""
    global _dispatcher_elsewhere, _supervisor
    if not config.dispatch or config.in_memory:
        return  # :memory: lives in the one worker: its app runs the dispatcher as a thread
    _dispatcher_elsewhere = True
    _supervisor = Supervisor(config).start()
    _tell_when_stopping(_supervisor)


def _tell_when_stopping(supervisor: Supervisor) -> None:
    """Tell the supervisor of a stop signal before gunicorn's own handler (installed by then) runs.
    A Ctrl-C or a `kill` of the process group reaches the dispatcher too, which exits at once: without
    this, that exit looked like a death, logged a warning and started another while the server stopped."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set in the main thread; gunicorn's arbiter runs in it
    for sig in STOP_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            supervisor.stopping()
            previous(signum, frame)
        signal.signal(sig, handler)


def on_exit(config: MockConfig, server: Any) -> None:
    """`server.ON_EXIT` hook: the arbiter is stopping; so is its dispatcher."""
    if _supervisor is not None:
        _supervisor.stop()


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
    """Entry of the dispatcher process a `Supervisor` starts: (config, arbiter pid) pickled in CONFIG_ENV."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_process(*pickle.loads(base64.b64decode(os.environ.pop(CONFIG_ENV))))
