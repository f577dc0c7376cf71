"""Examples per second of the public strategies (`capillary_contract.strategies`), each beside
its peer: Schemathesis's own `as_strategy()` on the same operation, drawn the same way.

Two ways of drawing: `@given(strategy)` (the strategy built once, before the test), and a strategy
made inside each example (`data.draw(strategies.create_bodies(t))`, as a parametrized property test
writes it), where a strategy that is built anew for every call pays its build each example.
The first example of every row pays the one-off build (Schemathesis reads the contract once per
process), as a test's first example does. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, settings, strategies as st  # noqa: E402

from capillary_contract import strategies  # noqa: E402
from capillary_contract.loader import load_contract  # noqa: E402

TYPE = "GOODWILL-POINTS"


GENERATE_ONLY = settings(database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def rate(strategy: Any, examples: int) -> float:
    """Examples per second when Hypothesis draws `examples` values (generation only, no test work)."""
    drawn = []

    @settings(GENERATE_ONLY, max_examples=examples)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    started = time.perf_counter()
    collect()
    return len(drawn) / (time.perf_counter() - started)


def rate_made_per_example(make: Callable[[], Any], examples: int) -> float:
    """Examples per second when each example makes its strategy (`make()`) and draws one value."""
    drawn = []

    @settings(GENERATE_ONLY, max_examples=examples)
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        drawn.append(data.draw(make()))

    started = time.perf_counter()
    collect()
    return len(drawn) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200)
    args = parser.parse_args()
    contract = load_contract()
    schema = strategies.openapi_schema(contract)
    peer_create = schema[contract.create_path(TYPE)]["POST"].as_strategy()
    decide = contract.operations["decideRequest"]
    peer_decide = schema[decide.path]["PUT"].as_strategy(path_parameters={"requestType": TYPE})
    add = contract.operations["addLegacyRequests"]
    peer_add = schema[add.path]["POST"].as_strategy()
    rows = [
        (f"create_bodies({TYPE})", strategies.create_bodies(TYPE, contract), peer_create),
        (f"invalid_create_bodies({TYPE})", strategies.invalid_create_bodies(TYPE, contract), None),
        ("decisions()", strategies.decisions(contract=contract), peer_decide),
        ("invalid_decisions()", strategies.invalid_decisions(contract), None),
        ("legacy_batches('add')", strategies.legacy_batches("add", contract), peer_add),
    ]
    print(f"{'strategy':44} {'examples/s':>11}   Schemathesis as_strategy() on the operation")
    for name, strategy, peer in rows:
        ours = rate(strategy, args.examples)
        theirs = f"{rate(peer, args.examples):8.1f}/s" if peer is not None else "   (none: labelled breaks are ours)"
        print(f"{name:44} {ours:9.1f}/s   {theirs}")
    path = contract.create_path(TYPE)
    ours = rate_made_per_example(lambda: strategies.create_bodies(TYPE, contract), args.examples)
    theirs = rate_made_per_example(lambda: schema[path]["POST"].as_strategy(), args.examples)
    print(f"{f'create_bodies({TYPE}), made in each example':44} {ours:9.1f}/s   {theirs:8.1f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
