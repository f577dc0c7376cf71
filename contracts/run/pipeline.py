"""One case behind the generator: the fuzzer's main thread draws the next case (CPU in Hypothesis and
Schemathesis) while a thread of its own sends the last one and judges the answer (mostly a wait for
the target), so a fuzzed case costs about its generation instead of generation plus round trip.

Jobs run in the order given, one at a time, so findings and counts come in the same order as when
each case was sent at once. Whatever a job raises (StopRun from the budget, a bug of the suite) is
raised again in the caller's thread at every later `submit` and at `close`, and no later job runs.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable

Job = Callable[[], None]


class Pipeline:
    def __init__(self) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=1)  # at most one case waiting
        self._error: BaseException | None = None
        self._dropping = False  # closed early: a queued job is not run
        self._thread = threading.Thread(target=self._loop, name="fuzz-pipeline", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        self._raise()
        self._jobs.put(job)

    def close(self, finish: bool = True, timeout: float | None = None) -> None:
        """Wait for the jobs handed over (`finish`) or for the one running only; then raise what a job
        raised, if the caller is finishing normally."""
        self._dropping = not finish
        try:
            self._jobs.put(None, timeout=timeout)
        except queue.Full:  # the running job outlasted the timeout; the thread is a daemon
            return
        self._thread.join(timeout)
        if finish:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._dropping or self._error is not None:
                continue
            try:
                job()
            except BaseException as exc:  # handed to the caller's thread, which decides
                self._error = exc
