"""Claims that live exactly as long as the worker holding them.

A claim (taken by `claim_decision`) lapses CLAIM_TTL_S after its last renewal. While a
decision runs (a forced latency, a chained call), one thread per process renews every claim
the process holds, every third of that time. So a live worker keeps its claim however long
the wrapped call takes, and a worker that died mid-approval (kill -9, gunicorn's time-out
kill, a lost machine) frees the request within CLAIM_TTL_S instead of leaving it answering
409 "under way" until the whole server restarts.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from typing import Iterator

from .base import CLAIM_TTL_S, Store

log = logging.getLogger("mockserver")


class ClaimKeeper:
    """Renews the claims this process holds on one store."""

    def __init__(self, store: Store, ttl_s: float = CLAIM_TTL_S):
        self.store, self.ttl_s = store, ttl_s
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._pid = -1

    @contextlib.contextmanager
    def kept(self, token: str) -> Iterator[None]:
        """Keep `token`'s claim alive for the duration of the block."""
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (a forked worker starts its own thread)
                self._pid = os.getpid()
                self._held = set()
                threading.Thread(target=_renew_loop, args=(weakref.ref(self), self.ttl_s), name="claim-keeper",
                                 daemon=True).start()
            self._held.add(token)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(token)

    def renew(self) -> None:
        with self._lock:
            tokens = list(self._held)
        if tokens:
            with self.store.transaction() as tx:
                tx.renew_claims(tokens, self.ttl_s)


def _renew_loop(ref: "weakref.ref[ClaimKeeper]", ttl_s: float) -> None:
    """Until the keeper is dropped or its store closed (a weak reference: the thread keeps neither alive)."""
    stop = threading.Event()
    while not stop.wait(ttl_s / 3):
        keeper = ref()
        if keeper is None or getattr(keeper.store, "closed", False):
            return
        try:
            keeper.renew()
        except Exception:  # the next round tries again; a claim lapses only after CLAIM_TTL_S
            log.warning("could not renew claims", exc_info=True)
        del keeper
