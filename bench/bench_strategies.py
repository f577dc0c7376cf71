"""Examples per second of the public strategies (`capillary_contract.strategies`), each beside
its peer: Schemathesis's own `as_strategy()` on the same operation, drawn the same way.

Two ways of drawing: `@given(strategy)` (the strategy built once, before the test), and a strategy
made inside each example (`data.draw(strategies.create_bodies(t))`, as a parametrized property test
writes it), where a strategy that is built anew for every call pays its build each example.
Each row shows the first examples apart (they pay the one-off build: the schemas compiled, the
documented bodies found, Schemathesis's operation read, as a test's first example does), then the
examples per second once built. Prints figures; asserts nothing.
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


NO_PEER = "(none: labelled breaks are ours)"


WARM_UP = 10  # Hypothesis's first examples are the simplest (e.g. the documented body), so the build of
               # a strategy's generated branch may come a few examples in


def _figures(measure: Callable[[int], float], examples: int) -> str:
    """The first WARM_UP examples' seconds (they pay the build), then examples per second once built."""
    started = time.perf_counter()
    measure(WARM_UP)
    first = time.perf_counter() - started
    return f"{first:7.2f}s {measure(examples):9.1f}/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200)
    args = parser.parse_args()
    contract = load_contract()
    schema = strategies.openapi_schema(contract)
    peer_create = schema[contract.create_path(TYPE)]["POST"].as_strategy()
    peer_decide = schema[contract.create_path(TYPE)]["PUT"].as_strategy()
    add = contract.operations["addLegacyRequests"]
    peer_add = schema[add.path]["POST"].as_strategy()
    rows = [
        (f"create_bodies({TYPE})", strategies.create_bodies(TYPE, contract), peer_create),
        (f"invalid_create_bodies({TYPE})", strategies.invalid_create_bodies(TYPE, contract), None),
        ("decisions()", strategies.decisions(contract=contract), peer_decide),
        ("invalid_decisions()", strategies.invalid_decisions(contract), None),
        ("legacy_batches('add')", strategies.legacy_batches("add", contract), peer_add),
    ]
    print(f"{'strategy':44} {f'first {WARM_UP}':>8} {'examples/s':>11}   Schemathesis as_strategy() on the operation")
    for name, strategy, peer in rows:
        print(f"{name:44} {_figures(lambda n: rate(strategy, n), args.examples)}   "
              f"{_figures(lambda n: rate(peer, n), args.examples) if peer is not None else NO_PEER}")
    path = contract.create_path(TYPE)
    made = [
        (f"create_bodies({TYPE})", lambda: strategies.create_bodies(TYPE, contract),
         lambda: schema[path]["POST"].as_strategy()),
        (f"invalid_create_bodies({TYPE})", lambda: strategies.invalid_create_bodies(TYPE, contract), None),
    ]
    print("made in each example (data.draw(make()) in the test)")
    for name, make, peer_make in made:
        print(f"{name:44} {_figures(lambda n: rate_made_per_example(make, n), args.examples)}   "
              f"{_figures(lambda n: rate_made_per_example(peer_make, n), args.examples) if peer_make else NO_PEER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
