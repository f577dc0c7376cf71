"""Which requests may wait, so the front gives them a thread and runs every other one inline.

A request that cannot wait (most are a validation and one SQLite transaction, about a
millisecond) is cheapest run on the front's own loop: handing it to a thread and back cost
a third of create throughput. A view that may wait (a `waitFor` long-poll, a decision whose
forced latency or chained call holds it) is marked `@may_wait`, and a store that waits on the
network (PostgreSQL) makes every request go to a thread, so a waiting request holds only itself.
"""
from __future__ import annotations

from typing import Any, Callable

from werkzeug.exceptions import HTTPException

WAITS = "mockserver_may_wait"


def may_wait(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view that may hold its request (sleep, poll, call out): it runs in a thread."""
    setattr(view, WAITS, True)
    return view


def inline_predicate(app: Any) -> Callable[[dict[str, Any]], bool]:
    """`runs_inline(environ)`: True when the request's view cannot wait and its store does not
    wait on the network. A request no route takes (a 404 or 405) cannot wait either."""
    if app.extensions["mockserver"].store.waits_on_network:
        return lambda environ: False
    url_map, views = app.url_map, app.view_functions

    def runs_inline(environ: dict[str, Any]) -> bool:
        try:
            endpoint, _ = url_map.bind_to_environ(environ).match()
        except HTTPException:
            return True
        except Exception:  # noqa: BLE001 - an odd environ: the app answers it, in a thread to be safe
            return False
        return not getattr(views.get(endpoint), WAITS, False)

    return runs_inline
