"""The browser inbox at `GET /__admin/ui`: play the other role (checker or maker) against the mock.

Plain HTML, CSS and JavaScript shipped inside the package (no CDN, no build step), served from
the mock's own origin, so it needs no CORS and works offline from an installed wheel. The page
calls the same APIs a client would: the workflow API as a chosen user (with a token from
`POST /__admin/tokens`) and the admin API for events, journal, faults and reset. What it needs to
know about the workflow (types and their three spellings, states, step order) is derived here from
the contract and the lifecycle table and embedded in the page, so the script restates none of it.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from capillary_contract.lifecycle import APPROVE, CREATE, NEW, PENDING, transition
from ..api_v2 import BASE
from ..state import MockState, mock_state

QUIET_HEADER = "X-Mock-Inbox"  # on the inbox's own reads, which the journal leaves out
bp = Blueprint("ui", __name__, static_folder="static", static_url_path="/__admin/ui/static",
               template_folder="templates")


@bp.get("/__admin/ui", endpoint="inbox")
def inbox() -> Any:
    return render_template("inbox.html", model=page_model(mock_state()))


def page_model(state: MockState) -> dict[str, Any]:
    """What the page must know of this mock, derived from the contract and the lifecycle."""
    steps = transition(NEW, CREATE).steps + transition(PENDING, APPROVE).steps
    decision = state.contract.spec["components"]["schemas"]["AdminTaskPayload"]["properties"]
    return {
        "types": [{"url": t.url_name, "response": t.response_name, "event": t.event_name, "path": t.path}
                  for t in state.types.values()],
        "states": state.contract.spec["components"]["schemas"]["RequestState"]["enum"],
        "pending": PENDING,
        "steps": list(steps),
        "preloaded": bool(state.config.examples or state.config.fixtures_dir or state.config.pending_per_type),
        "workflowBase": BASE,
        "quietHeader": QUIET_HEADER,
        "messageMaxLength": decision["actionMessage"]["maxLength"],
    }
