"""Webhook delivery figures, all on 127.0.0.1 with a real SQLite file and a real receiver:

1. throughput: a backlog of N events drained into a local receiver by one dispatcher (events/s);
2. the outbox's cost to an approval: PUT latency with no subscription and no dispatcher, then with
   1 and 3 subscriptions while the dispatcher delivers every event as it comes.

    .venv/bin/python bench/bench_webhooks.py [--events 2000] [--approvals 300]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capillary_contract.examples import documented_bodies  # noqa: E402
from mockserver import webhooks  # noqa: E402
from mockserver.config import DeliveryPolicy, MockConfig  # noqa: E402
from capillary_contract.examples import decision_body  # noqa: E402
from capillary_contract.lifecycle import APPROVED  # noqa: E402
from capillary_contract.loader import load_contract  # noqa: E402
from mockserver.testing import RunningMock, serve_in_thread  # noqa: E402
from mockserver.webhooks.dispatcher import Dispatcher  # noqa: E402
from capillary_contract.receiver import Receiver  # noqa: E402

BASE = "/api_gateway/v2/request-workflow"
TYPE = "GOODWILL-POINTS"
RULES = DeliveryPolicy(timeout_s=5.0, base_delay_s=0.01, max_delay_s=0.1, max_attempts=5, poll_interval_s=0.01)


class Client:
    def __init__(self, mock: RunningMock):
        self.base_url, self.auth, self.http = mock.base_url, mock.headers, requests.Session()
        self.body = documented_bodies(load_contract())[TYPE]

    def subscribe(self, url: str) -> None:
        self.http.post(f"{self.base_url}/__admin/subscriptions", json={"url": url}, timeout=10).raise_for_status()

    def create(self) -> str:
        answer = self.http.post(f"{self.base_url}{BASE}/{TYPE}", json=self.body, headers=self.auth("maker"), timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]["requestId"]

    def approve(self, request_id: str) -> float:
        body = decision_body(request_id, APPROVED, "bench")
        started = time.perf_counter()
        answer = self.http.put(f"{self.base_url}{BASE}/{TYPE}", json=body, headers=self.auth("checker"), timeout=10)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        return elapsed

    def settle(self) -> dict[str, Any]:
        for _ in range(6):  # up to 60 s, in the admin document's 10 s waits
            answer = self.http.get(f"{self.base_url}/__admin/events", params={"waitFor": "all", "timeout": 10},
                                   timeout=20).json()
            if not answer.get("timedOut"):
                break
        return answer


def throughput(workdir: Path, events: int) -> None:
    with Receiver() as hook, serve_in_thread(MockConfig(db=str(workdir / "drain.db"), dispatch=False)) as mock:
        client = Client(mock)
        client.subscribe(hook.url)
        for _ in range(events):
            client.create()
        store = mock.app.extensions["mockserver"].store
        dispatcher = Dispatcher(store, RULES, max_wait_s=0.05)
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        started = time.perf_counter()
        thread.start()
        while True:
            with store.read() as reader:
                if reader.settled("all", None):
                    break
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        dispatcher.stop()
        thread.join(10)
    print(f"throughput: {events} queued events delivered in {elapsed:.2f}s = {events / elapsed:,.0f} events/s "
          f"({len(hook.accepted())} accepted by the receiver)")


def approval_latency(workdir: Path, approvals: int, subscriptions: int) -> list[float]:
    config = MockConfig(db=str(workdir / f"latency-{subscriptions}.db"), delivery=RULES, dispatch=subscriptions > 0)
    hooks = [Receiver().start() for _ in range(subscriptions)]
    try:
        with serve_in_thread(config) as mock:
            client = Client(mock)
            for hook in hooks:
                client.subscribe(hook.url)
            ids = [client.create() for _ in range(approvals + 20)]
            for request_id in ids[:20]:  # warm-up
                client.approve(request_id)
            timings = [client.approve(request_id) for request_id in ids[20:]]
            if subscriptions:
                settled = client.settle()
                assert not settled.get("timedOut"), "deliveries did not settle"
            webhooks.stop(mock.app)
    finally:
        for hook in hooks:
            hook.stop()
    return timings


def describe(label: str, timings: list[float], baseline: list[float] | None = None) -> None:
    ms = sorted(t * 1000 for t in timings)
    p50, p95 = statistics.median(ms), ms[int(len(ms) * 0.95) - 1]
    extra = ""
    if baseline:
        base = sorted(t * 1000 for t in baseline)
        extra = f"  (+{p50 - statistics.median(base):.2f} ms median vs no outbox delivery)"
    print(f"approve latency, {label}: median {p50:.2f} ms, p95 {p95:.2f} ms, mean {statistics.fmean(ms):.2f} ms{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--approvals", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        throughput(workdir, args.events)
        baseline = approval_latency(workdir, args.approvals, 0)
        describe("no subscription, no dispatcher", baseline)
        for subs in (1, 3):
            describe(f"{subs} subscription(s), dispatcher delivering", approval_latency(workdir, args.approvals, subs),
                     baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
