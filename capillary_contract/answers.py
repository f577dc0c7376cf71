"""A wrapped call's documented answer, fitted to another call of the same API.

The spec shows, per request type, an approved (or failed) request: the wrapped call that was made
and what it answered. A mock answering another call of that API replays that answer with the parts
that came from the call taken from the new call instead, and the ids the API made up made up anew:

- a member of the answer equal to a part of the documented call is an echo of it (the badge's
  `badgeMetaId`, the `triggeredBy` object, a customer id taken from `customers[0]`): it is
  replaced by the new call's value at the same place, in the documented answer's type (`"100"`
  stays a string); a list item that echoes one element of a list of the call is repeated for each
  element of the new call's list (one `issuedBadges` entry per customer);
- a member named like an id (`createdId`, `earnedBadgeId`, `issuedId`) that echoes nothing is a
  fresh value of the documented one's shape (as many digits, as many hex characters), drawn from
  the caller's random source so the same call gets the same ids;
- everything else is as documented.

    >>> documented = {"call": {"customers": [7001], "badgeMetaId": "abc"},
    ...               "answer": {"data": {"badgeMetaId": "abc", "issuedBadges": [{"customerId": 7001, "issuedId": "0f"}]}}}
    >>> fitted_answer(documented["call"], documented["answer"], {"customers": [1234, 5678], "badgeMetaId": "xyz"},
    ...               random.Random(1))["data"]["issuedBadges"][1]["customerId"]
    5678
"""
from __future__ import annotations

import random
import re
import string
import uuid
from typing import Any

from .instances import escape, node_at

ID_NAME = re.compile(r"(?:^|[a-z])Id$|^id$")
DISTINCTIVE_TEXT = 6       # a text this long equal to one of the call's is taken for an echo of it
DISTINCTIVE_NUMBER = 1000  # so is a number this large (smaller ones match only under the same member name)
MISSING = object()


def fitted_answer(documented_call: Any, documented_answer: Any, call: Any, rng: random.Random) -> Any:
    """`documented_answer` (the answer to `documented_call`) as the answer to `call`."""
    leaves = list(_parts(documented_call))
    fitted = _fit(documented_answer, None, leaves, call, {}, rng)
    return documented_answer if fitted is MISSING else fitted


def _parts(node: Any, pointer: str = "", key: str | None = None) -> Any:
    """(pointer, member name, value) of every part of the call worth echoing, parents first."""
    if _worth_echoing(node):
        yield pointer, key, node
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _parts(value, f"{pointer}/{escape(str(name))}", name)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _parts(value, f"{pointer}/{index}", key)


def _worth_echoing(value: Any) -> bool:
    return value not in (None, "", [], {}) and not isinstance(value, bool)


def _echo_of(value: Any, key: str | None, leaves: list[tuple[str, str | None, Any]]) -> str | None:
    """The pointer of the documented call's part that `value` (the answer's member `key`) repeats."""
    if not _worth_echoing(value):
        return None
    for pointer, name, part in leaves:
        if _same(value, part) and (name == key or _distinctive(value)):
            return pointer
    return None


def _same(answer: Any, call: Any) -> bool:
    if isinstance(answer, (dict, list)) or isinstance(call, (dict, list)):
        return answer == call
    return answer == call or str(answer) == str(call) or _number(answer) == _number(call) is not None


def _number(value: Any) -> float | None:
    try:
        return float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _distinctive(value: Any) -> bool:
    if isinstance(value, (dict, list)):
        return True
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return abs(number) >= DISTINCTIVE_NUMBER
    return len(str(value)) >= DISTINCTIVE_TEXT


def _fit(node: Any, key: str | None, leaves: list, call: Any, indices: dict[str, int], rng: random.Random) -> Any:
    echo = _echo_of(node, key, leaves)
    if echo is not None:
        found = _at(call, _reindexed(echo, indices))
        return found if found is MISSING else _like(node, found)  # an echo of what the call leaves out is left out
    if isinstance(node, dict):
        fitted = {name: _fit(value, name, leaves, call, indices, rng) for name, value in node.items()}
        return {name: value for name, value in fitted.items() if value is not MISSING}
    if isinstance(node, list):
        out = []
        for item in node:
            repeated = _repeated_over(item, leaves, call, indices)
            if repeated is None:
                out.append(_fit(item, key, leaves, call, indices, rng))
            else:
                list_pointer, count = repeated
                out += [_fit(item, key, leaves, call, {**indices, list_pointer: i}, rng) for i in range(count)]
        return [item for item in out if item is not MISSING]
    if key is not None and ID_NAME.search(key):
        return _fresh(node, rng)
    return node


def _repeated_over(item: Any, leaves: list, call: Any, indices: dict[str, int]) -> tuple[str, int] | None:
    """(pointer of a list of the call, its length in `call`) when `item` echoes one of its elements."""
    for _, key, value in _parts(item):
        echo = _echo_of(value, key, leaves)
        match = re.match(r"(.*)/(\d+)(?:/|$)", echo or "")
        if match and match.group(1) not in indices:
            found = _at(call, _reindexed(match.group(1), indices))
            return match.group(1), (len(found) if isinstance(found, list) else 1)
    return None


def _reindexed(pointer: str, indices: dict[str, int]) -> str:
    for list_pointer, index in indices.items():
        if pointer.startswith(list_pointer + "/"):
            rest = pointer[len(list_pointer) + 1:].partition("/")
            pointer = f"{list_pointer}/{index}" + (f"/{rest[2]}" if rest[1] else "")
    return pointer


def _at(instance: Any, pointer: str) -> Any:
    try:
        return node_at(instance, pointer)
    except (KeyError, IndexError, TypeError, ValueError):
        return MISSING


def _like(documented: Any, value: Any) -> Any:
    """`value` in the type the documented answer gives it (`"100"` for 100 where a text was shown)."""
    if isinstance(documented, str) and not isinstance(value, str) and not isinstance(value, (dict, list)):
        return str(value)
    if isinstance(documented, float) and _number(value) is not None:
        return float(value)
    return value


def _fresh(documented: Any, rng: random.Random) -> Any:
    """A made-up id of the documented one's shape."""
    if isinstance(documented, int) and not isinstance(documented, bool):
        digits = len(str(abs(documented)))
        return rng.randrange(10 ** (digits - 1) if digits > 1 else 1, 10 ** digits)
    if isinstance(documented, str):
        try:
            uuid.UUID(documented)
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        except ValueError:
            pass
        if documented and all(c in string.hexdigits for c in documented):
            return "".join(rng.choice("0123456789abcdef") for _ in documented)
    return documented
