"""Requests that may wait are run in a thread; every other one inline on the front's loop.

Most requests are a validation and one SQLite transaction, about a millisecond: they are cheapest
run on the front's own loop (handing each to a thread and back cost a third of create throughput).
A few may wait: a `waitFor` long-poll, an approval held by a fault's latency or a timeout, a
chained call. Running inline, such a view calls `hand_over()` as soon as it knows it would wait,
before any lasting effect (inside its transaction, which the raise rolls back); the app answers
with a marker the front recognises (`handed_over`), and the front runs the request again from
the start in a pool thread, where the wait holds only itself. A read that runs long (a filtered
list of an organisation with a hundred thousand requests takes 0.1-0.3 s) hands its request over
the same way: inline, each read may take INLINE_READ_BUDGET_S of CPU time, and the store stops one
that runs past it (`ReadOverBudget`) unless the request has already written. In the thread SQLite
works without the GIL, so the loop goes on serving everyone else. A store that waits on the network
(PostgreSQL: `Store.waits_on_network`) has every request run in a thread (server.FrontWorker).
"""
from __future__ import annotations

from flask import Response, g, request

from .store import READ_BUDGET

INLINE = "mockserver.inline"           # environ key: this request runs on the front's loop
HANDED_OVER = "X-Mock-Handed-Over"    # the marker header of the answer the front does not send
INLINE_READ_BUDGET_S = 0.01           # about ten ordinary requests' time


class WouldWait(Exception):
    """Raised by `hand_over()`: the request is to be run again in a thread."""


def hand_over() -> None:
    """Call where a view is about to wait: inline, it stops here; in a thread, it goes on."""
    if request.environ.get(INLINE):
        raise WouldWait


def budget_inline_reads() -> None:
    """Before a request: on the loop, each of its reads may take INLINE_READ_BUDGET_S."""
    READ_BUDGET.set(INLINE_READ_BUDGET_S if request.environ.get(INLINE) else None)


def end_read_budget(error: BaseException | None = None) -> None:
    """After a request (teardown): the next request on the same connection starts without a budget."""
    READ_BUDGET.set(None)


def answer_handed_over(error: Exception) -> Response:
    """The app's answer to `WouldWait` and `ReadOverBudget` (error handlers): the marker, nothing journalled."""
    g.handed_over = True
    return Response(status=503, headers={HANDED_OVER: "1"})


def handed_over(headers: list[tuple[str, str]]) -> bool:
    return any(name == HANDED_OVER for name, _ in headers)

