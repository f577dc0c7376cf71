"""The documented list orders, against a mock holding requests raised minutes apart (--pending): a server
that ignores `sortOrder` (always newest first) or lists oldest first without `sortBy` fails the machine's
list checks."""
from __future__ import annotations

import io
import json
from typing import Callable

import pytest
from werkzeug.wrappers import Request, Response

from contracts.run.runner import EXIT_VIOLATIONS, RunOptions, run
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread
from test_contracts_run import V2, _APP, breaking, json_answer


def ignores_sort_order(request: Request, forward: Callable) -> Response:
    if request.path == V2 + "requests" and "sortOrder" in request.args:
        return forward(query="&".join(f"{k}={v}" for k, v in request.args.items() if k not in ("sortBy", "sortOrder")))
    return forward()


def oldest_first(request: Request, forward: Callable) -> Response:
    answer = forward()
    body = answer.get_json(silent=True)
    if request.path == V2 + "requests" and "sortBy" not in request.args and isinstance(body, dict):
        body["data"] = list(reversed(body.get("data") or []))
        return json_answer(answer.status_code, body)
    return answer


@pytest.mark.parametrize("mutate", [ignores_sort_order, oldest_first], ids=lambda f: f.__name__)
def test_a_wrong_list_order_is_caught(tmp_path, mutate):
    config = MockConfig(db=str(tmp_path / "state.db"), dispatch=False, pending_per_type=2)
    with serve_in_thread(config) as mock:
        _APP[:] = [mock.app.wsgi_app]
        mock.app.wsgi_app = breaking(mock.app.wsgi_app, mutate)
        code = run(RunOptions(base_url=mock.base_url, max_examples=3, seed=5, phases=("machine",),
                              report=str(tmp_path / "r.json")), out=io.StringIO(), stream=io.StringIO())
    report = json.loads((tmp_path / "r.json").read_text())
    messages = [f["message"] for f in report["failures"] if f["check"] == "list_filters_and_pages"]
    assert code == EXIT_VIOLATIONS
    assert any("sortBy=" in m or "newest comes first" in m for m in messages), messages
