"""Fuzz cases drawn in forked processes and sent from the parent. Drawing (Hypothesis's engine and
Schemathesis's strategies) is most of a fuzzer's CPU and holds the GIL, so a thread beside it never
gets a second core; a process does. So with --workers N, N generator processes draw and the parent
sends and judges each one's cases in a thread of its own, in the order they were drawn.

Each generator takes the jobs (one operation in one mode each) one at a time, in order, from a
counter all generators share, and hands over every case as it is drawn through a bounded queue (it
draws at most BUFFERED cases ahead). A generator may start before the fuzz phase (the runner starts
one when the run begins), so the drawing overlaps the phases before it, which mostly wait for the
target. One halt flag stops every generator at its next case: set by the parent (a limit, a
signal, the end of the run) or by a generator sent SIGTERM (a CI job's time-out signals the whole
process group).
"""
from __future__ import annotations

import io
import os
import pickle
import queue
import signal
import sys
import time
import traceback
from typing import Any, Callable, Iterator

BUFFERED = 512  # cases a generator draws ahead of the parent (a few KB each)
POLL = 0.5  # seconds between looks at the halt event and the other side's liveness
TERM_GRACE_S = 15  # seconds a generator sent SIGTERM may take to end
STARTED, CASE, ENDED, DONE = "started", "case", "ended", "done"


class Halted(BaseException):
    """Ends a generator's draw at its next case (a BaseException: Hypothesis passes it through)."""


class CasePickler(pickle.Pickler):
    """Pickles Schemathesis cases for the parent: each operation travels as its label (every process
    has its own copy of the schema), and a case as its slot values (`Case.__setattr__` reads its
    metadata first, so the default slot-by-slot unpickling fails)."""

    def __init__(self, file: Any, labels: dict[int, str]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.labels = labels
        from schemathesis import Case

        self.case_type = Case

    def persistent_id(self, obj: Any) -> str | None:
        return self.labels.get(id(obj))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, self.case_type):
            return _from_slots, (type(obj), {name: getattr(obj, name) for name in type(obj).__slots__})
        return NotImplemented


def _from_slots(cls: type, slots: dict[str, Any]) -> Any:
    obj = object.__new__(cls)
    for name, value in slots.items():
        object.__setattr__(obj, name, value)
    return obj


class CaseUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, operations: dict[str, Any]):
        super().__init__(file)
        self.operations = operations

    def persistent_load(self, pid: str) -> Any:
        return self.operations[pid]


def dumps(obj: Any, labels: dict[int, str]) -> bytes:
    buffer = io.BytesIO()
    CasePickler(buffer, labels).dump(obj)
    return buffer.getvalue()


def loads(data: bytes, operations: dict[str, Any]) -> Any:
    return CaseUnpickler(io.BytesIO(data), operations).load()


# What a generator runs, after the fork: the jobs' labels, the ids of the operations a case may
# reference (to their labels), and `draw(job, emit)`, which draws one job's cases and emits each.
Drawer = Callable[[], tuple[list[str], dict[int, str], Callable[[int, Callable[[Any], None]], None]]]


def fuzz_generators(ctx: Any) -> "Generators":
    """Generators of the fuzz phase's cases for the run `ctx`; each imports the fuzzer (and with it
    Hypothesis and Schemathesis) itself, so starting one costs the parent nothing."""

    def drawer() -> Any:
        from .fuzz import draws

        return draws(ctx)

    return Generators(drawer)


class Generators:
    """The run's generator processes; `take(k)` yields generator k's messages in order:
    (STARTED, job, label), (CASE, job, case), (ENDED, job, None), then (DONE, None, None)."""

    def __init__(self, drawer: Drawer):
        import multiprocessing

        self._mp = multiprocessing.get_context("fork")
        self.drawer = drawer
        self._halt = self._mp.RawValue("b", 0)  # a plain shared byte: a signal handler may set it
        self._next_job = self._mp.Value("i", 0)
        self._processes: list[Any] = []
        self._queues: list[Any] = []
        self.parent_halted = False  # the parent halted them (else a generator was sent SIGTERM)
        self._closed = False

    def start(self, count: int) -> "Generators":
        """Have at least `count` generators drawing."""
        for stream in (sys.stdout, sys.stderr):  # a child flushes them as it ends: never the parent's text twice
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        while len(self._processes) < count:
            out = self._mp.Queue(BUFFERED)
            process = self._mp.Process(target=self._generate, args=(out, os.getpid()), daemon=True,
                                       name=f"fuzz-generator-{len(self._processes)}")
            process.start()
            self._processes.append(process)
            self._queues.append(out)
        return self

    @property
    def count(self) -> int:
        return len(self._processes)

    @property
    def halted(self) -> bool:
        return bool(self._halt.value)

    def stop(self) -> None:
        """Halt every generator at its next case (the parent's decision: a limit, a signal, the end)."""
        self.parent_halted = True
        self._halt.value = 1

    def close(self, wait: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        self.stop()
        deadline = time.monotonic() + wait
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(1.0)
        for out in self._queues:
            out.close()
            out.cancel_join_thread()

    def take(self, k: int, operations: dict[str, Any]) -> Iterator[tuple[str, int | None, Any]]:
        """Generator k's messages, cases unpickled with the parent's `operations`; a generator's error
        is raised here; a halt ends the messages early."""
        out, process = self._queues[k], self._processes[k]
        while not self.halted:
            try:
                kind, job, payload = out.get(timeout=POLL)
            except queue.Empty:
                if not process.is_alive() and out.empty():
                    raise RuntimeError(f"fuzz generator {k} ended without a word (exit code {process.exitcode})")
                continue
            if kind == DONE:
                if payload is not None:
                    raise RuntimeError(f"fuzz generator {k} failed:\n{payload}")
                return
            yield kind, job, (loads(payload, operations) if kind == CASE else payload)

    # -- in the forked process ----------------------------------------------------------------
    def _generate(self, out: Any, parent: int) -> None:
        self._on_signals()

        def put(message: tuple[str, int | None, Any]) -> None:
            while True:
                if self.halted or os.getppid() != parent:
                    raise Halted()
                try:
                    out.put(message, timeout=POLL)
                    return
                except queue.Full:
                    continue

        failed = None
        try:
            labels, by_id, draw = self.drawer()
            while not self.halted:
                with self._next_job.get_lock():
                    job = self._next_job.value
                    self._next_job.value += 1
                if job >= len(labels):
                    break
                put((STARTED, job, labels[job]))
                draw(job, lambda case: put((CASE, job, dumps(case, by_id))))
                put((ENDED, job, None))
        except Halted:
            pass
        except BaseException:  # a bug of the suite or of a library: the parent reports it
            failed = traceback.format_exc()
        if self.halted:  # the parent reads no more: what is queued may be dropped
            out.cancel_join_thread()
            return
        try:
            put((DONE, None, failed))
        except Halted:
            out.cancel_join_thread()

    def _on_signals(self) -> None:
        """SIGINT is the parent's to handle (it halts the generators). SIGTERM sent to the whole
        process group halts them as well, and a generator alone sent SIGTERM halts the fuzz phase
        like a limit; either way it ends at its next case, within TERM_GRACE_S, or at once on a second
        SIGTERM."""

        def halted(signum: int, frame: Any) -> None:
            self._halt.value = 1
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.alarm(TERM_GRACE_S)  # SIGALRM's default action ends the process if a draw outlasts it

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, halted)
