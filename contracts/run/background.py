"""Work that runs Hypothesis, run in threads while the main thread waits. A signal (SIGINT, SIGTERM)
is handled in the main thread: it then lands in this wait, never inside Hypothesis's engine, which
turns an exception raised in its own code into FlakyStrategyDefinition or another error of its own.
The waiting thread halts the work instead, lets it end at its next step, and raises the signal on.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from .transport import DEFAULT_TIMEOUT

# How long halted work may take to end: the request on the wire (one request's time-out) and the
# answer being judged.
HALT_WAIT = DEFAULT_TIMEOUT + 5.0


def run_in_threads(works: list[Callable[[], None]], halt: Callable[[], None], wait: float, name: str) -> None:
    """Run each work in a thread of its own and wait for all. The first error (a limit's StopRun
    too) halts the others and is raised here once they end; a signal halts them all (`halt()`),
    waits at most `wait` seconds for them, and goes on up."""
    outcome: list[BaseException] = []

    def target(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # raised again in the waiting thread
            outcome.append(exc)
            if len(threads) > 1:
                halt()  # the others end at their next step

    threads = [threading.Thread(target=target, args=(work,), name=f"{name}-{k}", daemon=True)
               for k, work in enumerate(works)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        halt()
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        raise
    if outcome:
        raise outcome[0]
