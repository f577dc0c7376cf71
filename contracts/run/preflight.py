"""Before anything is tested: can this run test anything at all? Each problem found here is a set-up
the user must fix (exit 2), said in one sentence, before a single generated case is sent:
the output paths cannot be written, the target is unreachable, the base path does not serve the
workflow API, or an identity's credentials are refused.

It sends only documented read-only calls (one list request per identity), nothing mock-only.
"""
from __future__ import annotations

import os
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests

from capillary_contract.loader import Contract

from .identities import Cast, Identity

TIMEOUT = 5.0


class Unusable(Exception):
    """A set-up that cannot test anything; the message says what to fix."""


def check_outputs(paths: Iterable[str | None]) -> None:
    """Every output file can be created (its folder exists and is writable); nothing is left behind."""
    for path in paths:
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise Unusable(f"{path} is a directory; give a file path")
        if not os.path.isdir(folder):
            raise Unusable(f"cannot write {path}: the folder {folder} does not exist")
        existed = os.path.exists(path)
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise Unusable(f"cannot write {path}: {exc.strerror or exc}") from None
        if not existed:
            os.remove(path)


def _answer(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "no content type")
    return f"HTTP {response.status_code} ({kind}): {response.text[:160]!r}"


def _workflow_answer(body: Any, contract: Contract) -> bool:
    """A list page, or an error in the workflow envelope with a code of its catalogue (a mock's
    admin API or another service may answer `{"errors": [...]}` too, with codes of its own)."""
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("data"), list):
        return True
    errors = body.get("errors")
    return isinstance(errors, list) and bool(errors) and all(
        isinstance(e, dict) and e.get("code") in contract.workflow_errors for e in errors)


def check_target(base_url: str, contract: Contract, cast: Cast, session: requests.Session) -> list[str]:
    """Raise Unusable when the target cannot be tested; return notes on what the preflight saw."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unusable(f"not an http(s) URL: {base_url!r}")
    url = base_url.rstrip("/") + contract.path_of("listRequests")
    notes = []
    for who in cast.known:
        response = _list(session, url, who)
        body = _answer(response)
        if not _workflow_answer(body, contract):
            raise Unusable(f"{base_url} does not serve the workflow API: GET {contract.path_of('listRequests')} as "
                           f"{who.name} answered {_describe(response)}; --base-url is the part before /api_gateway/")
        if response.status_code == 401:
            errors = body.get("errors") or [{}]
            raise Unusable(f"credentials refused for {who.flag if not cast.mock else who.name + ' (the mock default)'}"
                           f": HTTP 401 {errors[0].get('code')} {errors[0].get('message')!r}")
        notes.append(f"{who.name}: HTTP {response.status_code}")
    return notes


def _list(session: requests.Session, url: str, who: Identity) -> requests.Response:
    try:
        return session.get(url, params={"limit": 1}, headers=who.request_headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise Unusable(f"{url.split('/api_gateway')[0]} is unreachable: {exc.__class__.__name__}: {exc}") from None
