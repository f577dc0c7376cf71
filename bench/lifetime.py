"""A benchmark's servers end with it, however it ends.

The servers a bench starts (mockserver serve, Prism) run in their own sessions so that one
killpg stops a whole server; that also put them out of reach of whoever stops the bench:
`timeout 300 bench/bench_mock.py` killed the bench and left its mock serving. So every bench
calls `end_with_signals()` (SIGTERM, SIGHUP, SIGINT become SystemExit: its `finally` blocks
stop what it started), and starts its servers with `die_with_parent` (Linux: the kernel sends
the server SIGTERM when the bench dies, even by SIGKILL, as run_all.py's time-out may).
"""
from __future__ import annotations

import ctypes
import signal
import sys
from typing import Any, Callable

PR_SET_PDEATHSIG = 1


def end_with_signals() -> None:
    """Turn SIGTERM/SIGHUP/SIGINT into SystemExit in the main thread, so `finally` blocks run."""
    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, leave)


def _pdeathsig() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


# `preexec_fn` for subprocess.Popen (None where prctl does not exist). The signal is sent when the
# thread that started the server ends, so servers are started from the bench's main thread.
die_with_parent: Callable[[], None] | None = _pdeathsig if sys.platform.startswith("linux") else None
