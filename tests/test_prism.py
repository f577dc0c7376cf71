"""Stoplight Prism (`prism mock openapi.yaml`, npm) reads the type <-> body pairing from the contract.

Before issue 10 Prism validated no request body at all (a root `jsonSchemaDialect` switched its
validation off) and, with one templated create path, took any type's body for any type. Now each
type's path has its own body schema: Prism refuses a body of another type with a 4xx and accepts
the type's own (documented) body. Prism is installed into bench/.prism by bench_mock.py's installer.
"""
from __future__ import annotations

import pytest
import requests

from mock_support import CONTRACT, auth


def _documented_body(url_type: str) -> dict:
    return next(iter(CONTRACT.examples(CONTRACT.create_operation(url_type).operation_id).values()))["value"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("url_type", list(CONTRACT.request_types))
def test_prism_accepts_a_types_own_body_and_refuses_every_other_types(prism, url_type: str) -> None:
    path = CONTRACT.create_path(url_type)
    own = requests.post(prism.base_url + path, json=_documented_body(url_type), headers=auth("supervisor"), timeout=30)
    assert own.status_code == 200, own.text[:500]
    for other in CONTRACT.request_types:
        if other == url_type:
            continue
        answer = requests.post(prism.base_url + path, json=_documented_body(other), headers=auth("supervisor"),
                               timeout=30)
        assert 400 <= answer.status_code < 500, (url_type, other, answer.status_code, answer.text[:300])
    empty = requests.post(prism.base_url + path, json={}, headers=auth("supervisor"), timeout=30)
    assert 400 <= empty.status_code < 500, empty.text[:300]
