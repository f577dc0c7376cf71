"""Run the proxy from a test suite: a real server on 127.0.0.1 in a thread, stopped on leaving.

    with serve_in_thread(ProxyOptions(upstream=mock.base_url, port=0)) as proxy:
        requests.get(proxy.base_url + "/api_gateway/v2/request-workflow/requests", headers=...)
    assert proxy.exit_code == 0          # set when the block ends, as `contracts proxy` would exit
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Iterator

from .app import Inspector, ProxyOptions, finish, serve


@dataclass
class RunningProxy:
    base_url: str
    inspector: Inspector
    exit_code: int | None = None


@contextlib.contextmanager
def serve_in_thread(options: ProxyOptions, timeout_s: float = 30.0) -> Iterator[RunningProxy]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    result: dict[str, object] = {}

    def ready(port: int, inspector: Inspector) -> None:
        result["port"], result["inspector"] = port, inspector
        started.set()

    def main() -> None:
        try:
            loop.run_until_complete(serve(options, stop, ready))
        except BaseException as error:  # surfaced in the test's thread below
            result["error"] = error
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="contracts-proxy", daemon=True)
    thread.start()
    if not started.wait(timeout_s) or "error" in result:
        raise RuntimeError(f"the proxy did not start: {result.get('error')!r}")
    running = RunningProxy(f"http://{options.host}:{result['port']}", result["inspector"])  # type: ignore[arg-type]
    try:
        yield running
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout_s)
    running.exit_code = finish(running.inspector, options)
