"""Conformance of any deployment to the contract, and fixtures generated from it.

    contracts/run/        `contracts run`: probes, the lifecycle machine, fuzzing, webhook checks
                          (HTTP only; imports nothing of the mock)
    contracts/fixtures/   `contracts fixtures`: deterministic request, lifecycle, event and v1.1
                          files (recorded from the in-process mock)
    contracts/cli.py      the `contracts` command, dispatching to both
    contracts/pytest_plugin.py, testkit.py
                          the pytest plugin (entry point `capillary`: serves a mock in the test process,
                          or targets --capillary-base-url) and the `capillary` handle it gives a test
                          (HTTP only, like the run side)

Both generate from `capillary_contract` (examples, breaks, strategies).
"""
