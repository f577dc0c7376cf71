"""Requests that may wait are run in a thread; every other one inline on the front's loop.

Most requests are a validation and one SQLite transaction, about a millisecond: they are cheapest
run on the front's own loop (handing each to a thread and back cost a third of create throughput).
A few may wait: a `waitFor` long-poll, an approval held by a fault's latency or a timeout, a
chained call. Running inline, such a view calls `hand_over()` as soon as it knows it would wait,
before any lasting effect (inside its transaction, which the raise rolls back); the app answers
with a marker the front recognises (`handed_over`), and the front runs the request again from
the start in a pool thread, where the wait holds only itself. A store that waits on the network
(PostgreSQL: `Store.waits_on_network`) has every request run in a thread (server.FrontWorker).
"""
from __future__ import annotations

from flask import Response, g, request

INLINE = "mockserver.inline"           # environ key: this request runs on the front's loop
HANDED_OVER = "X-Mock-Handed-Over"    # the marker header of the answer the front does not send


class WouldWait(Exception):
    """Raised by `hand_over()`: the request is to be run again in a thread."""


def hand_over() -> None:
    """Call where a view is about to wait: inline, it stops here; in a thread, it goes on."""
    if request.environ.get(INLINE):
        raise WouldWait


def answer_handed_over(error: WouldWait) -> Response:
    """The app's answer to `WouldWait` (an error handler): the marker, nothing journalled."""
    g.handed_over = True
    return Response(status=503, headers={HANDED_OVER: "1"})


def handed_over(headers: list[tuple[str, str]]) -> bool:
    return any(name == HANDED_OVER for name, _ in headers)

