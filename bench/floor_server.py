"""The floor of a Flask mock's create throughput on this machine: bench/bare_flask_app.py served by the
mock's own front (mockserver/front.py, requests run inline on its loop) in as many forked processes as
`mockserver serve` runs workers, all accepting on one listening socket. bench_mock.py loads it with the
same creates as the mock and Prism, once answering from memory and once writing each create to a
SQLite file (BARE_FLASK_DB), so the mock's figures can be read against what Flask and SQLite cost here.

    python bench/floor_server.py PORT WORKERS
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bare_flask_app import app  # noqa: E402
from lifetime import die_with_parent  # noqa: E402
from mockserver.config import MockConfig  # noqa: E402
from mockserver.front import Front  # noqa: E402


async def serve(sock: socket.socket) -> None:
    front = Front(app, MockConfig.max_body_bytes, 1, inline=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    stop = front.listen(sock)
    await stopped.wait()
    stop()
    await front.stop(1.0)


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    sock = socket.create_server(("127.0.0.1", port), backlog=1024)
    for _ in range(workers - 1):
        if os.fork() == 0:  # a child: ends with the first process (bench_mock stops the whole group too)
            if die_with_parent is not None:
                die_with_parent()
            break
    asyncio.run(serve(sock))


if __name__ == "__main__":
    main()
