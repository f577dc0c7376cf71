"""The dispatcher: drains the outbox into receivers, recording every try.

One loop picks due deliveries (per-request order is in the query) and hands them to a small
pool of senders, so one slow or dead receiver never holds up the others. Each try's result
is written with the delivery's new state in one transaction. Nothing is marked before it is
sent: a crash mid-send leaves the delivery pending and it is sent again (at least once).

A lease row in the database makes sure only one dispatcher works on a database at a time,
whoever started it (the gunicorn arbiter, a test's thread, a second `mockserver serve` on the
same file, an orphan of a killed server).
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from typing import Callable

from ..config import DeliveryPolicy
from ..store import Due, Store, StoreUnavailable
from . import policy, sender

log = logging.getLogger("mockserver.webhooks")
SENDERS = 8            # deliveries in flight at once
LEASE_TTL_S = 3.0      # a dispatcher silent this long is presumed dead and replaced
STOP_GRACE_S = 1.0     # a stopping dispatcher waits this long for sends under way, never for slow receivers


class Senders:
    """Daemon threads that send deliveries. Daemons, so that a stopping dispatcher never waits for a
    slow receiver (a SIGTERM took as long as the send time-out): a send cut short is not recorded,
    and the delivery is sent again (at least once)."""

    def __init__(self, count: int, work: Callable[[Due], None]):
        self._queue: queue.SimpleQueue[Due | None] = queue.SimpleQueue()
        self._work = work
        self._threads = [threading.Thread(target=self._run, name=f"webhook-send-{i}", daemon=True)
                         for i in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, delivery: Due) -> None:
        self._queue.put(delivery)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)

    def _run(self) -> None:
        while (delivery := self._queue.get()) is not None:
            self._work(delivery)


class Dispatcher:
    def __init__(self, store: Store, rules: DeliveryPolicy, max_wait_s: float, senders: int = SENDERS):
        self.store, self.rules, self.max_wait_s, self.senders = store, rules, max_wait_s, senders
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy: set[int] = set()
        self._busy_lock = threading.Lock()
        # Tries whose result could not be written (a full disk...): the delivery still waits its
        # back-off before the next try, instead of being sent again at every round.
        self._unrecorded: dict[int, tuple[int, float]] = {}  # delivery id -> (such tries, not before)
        self._lease_renew_at = 0.0
        self._senders = Senders(senders, self._deliver)

    # -- control ---------------------------------------------------------------------------
    def wake(self) -> None:
        """Something may be due now (a request wrote an event, a send ended)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Loop until stopped or `alive()` turns False; sends under way get STOP_GRACE_S to finish."""
        try:
            while not self._stop.is_set() and alive():
                self._wake.clear()
                try:
                    wait = self._step(time.time())
                except StoreUnavailable:
                    if self.store.closed:  # the app that owned the store is gone
                        log.info("webhook dispatcher stops: its store is closed")
                        break
                    log.exception("webhook dispatch step failed; retrying")
                    wait = 1.0
                except Exception:
                    log.exception("webhook dispatch step failed; retrying")
                    wait = 1.0
                self._wake.wait(wait)
        finally:
            self._senders.stop()
            deadline = time.monotonic() + STOP_GRACE_S
            while self._busy and time.monotonic() < deadline:
                time.sleep(0.02)
            try:
                with self.store.transaction() as tx:
                    tx.release_lease(self.owner)
            except Exception:
                log.debug("could not release the dispatcher lease", exc_info=True)

    # -- one round -------------------------------------------------------------------------
    def _step(self, now: float) -> float:
        """Start what is due; return how long to sleep unless woken."""
        if not self._hold_lease(now):
            return LEASE_TTL_S / 3
        with self._busy_lock:
            busy = set(self._busy)
            held = {i for i, (_, not_before) in self._unrecorded.items() if not_before > now}
        free = self.senders - len(busy)
        with self.store.read() as reader:
            batch = reader.due_deliveries(now, busy | held, free) if free > 0 else []
            busy |= {d.id for d in batch}
            next_at = reader.next_due_at(busy | held)
        for delivery in batch:
            with self._busy_lock:
                self._busy.add(delivery.id)
            self._senders.submit(delivery)
        until_lease = self._lease_renew_at - now
        if next_at is None or len(busy) >= self.senders:
            return min(self.max_wait_s, until_lease)  # a send's end wakes us
        return max(0.0, min(next_at - now, self.max_wait_s, until_lease))

    def _deliver(self, delivery: Due) -> None:
        try:
            attempt = sender.send(delivery, self.rules.timeout_s)
            verdict = policy.judge(self.rules, attempt.status, delivery.attempts + 1, attempt.final)
            with self.store.transaction() as tx:
                tx.record_attempt(delivery.id, attempt, verdict.state, verdict.retry_in_s)
        except Exception:  # unrecorded: the delivery stays pending and is sent again after a back-off
            with self._busy_lock:
                tries = self._unrecorded.get(delivery.id, (0, 0.0))[0] + 1
                self._unrecorded[delivery.id] = (
                    tries, time.time() + policy.backoff_s(self.rules, delivery.attempts + tries))
            log.exception("webhook delivery %s could not be recorded", delivery.id)
        else:
            with self._busy_lock:
                self._unrecorded.pop(delivery.id, None)
        finally:
            with self._busy_lock:
                self._busy.discard(delivery.id)
            self.wake()

    def _hold_lease(self, now: float) -> bool:
        if now < self._lease_renew_at:
            return True
        with self.store.transaction() as tx:
            held = tx.take_lease(self.owner, now, LEASE_TTL_S)
        self._lease_renew_at = now + LEASE_TTL_S / 3 if held else 0.0
        return held
