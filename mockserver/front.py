"""The mock's HTTP front: an asyncio loop reads requests and runs the Flask app on each complete one.

Each gunicorn worker process runs one `Front` (its worker class is `server.FrontWorker`). Reading is the
loop's job (http1.py: bounded heads and bodies, time-outs), so a slow, idle or huge client holds
nothing. A complete request runs inline on the loop (about a millisecond); one whose view finds it
would wait (a `waitFor` long-poll, a fault's latency, a chained call) hands itself over before any
lasting effect and is run again in a pool thread, where it holds only itself (waiting.py). Each
process accepts one connection per wake-up, so that a burst spreads over the worker processes. Every answer the front
writes itself (malformed HTTP, a head or body too large or too slow) is in the error envelope of the
API whose path was called, like the app's own refusals, and never names a Python exception.
"""
from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlsplit

from . import http1
from .config import APP_THREADS
from .errors import ApiError, family_of_path, render
from .http1 import Refusal, Request, Stream
from .waiting import INLINE, handed_over

log = logging.getLogger("mockserver")
MAX_CONNECTIONS = 2000    # per process; beyond it new connections are closed at once
WRITE_TIMEOUT_S = 30.0
ACCEPT_PAUSE_S = 0.5
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Front:
    """Serves one WSGI app (a mock made by `create_app`) on asyncio streams."""

    def __init__(self, app: WsgiApp, max_body_bytes: int, threads: int = APP_THREADS, inline: bool = False):
        self.app = app
        self.inline = inline  # run requests on the loop (those that would wait hand themselves over)
        self.max_body_bytes = max_body_bytes
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="mock-app")
        self.connections: set[asyncio.StreamWriter] = set()
        self.busy: set[asyncio.StreamWriter] = set()
        self.stopping = False

    # -- connections ---------------------------------------------------------------------------
    def listen(self, sock: socket.socket) -> Callable[[], None]:
        """Serve connections of a listening socket shared with other processes; returns `stop`.

        One accept per wake-up: asyncio's own server takes every waiting connection at once, so
        the process that woke first got a whole burst (15 of wrk's 16) and the other sat idle."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        fd = sock.fileno()

        def accept() -> None:
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # another process took it
            except OSError as exc:  # out of descriptors, say: stop accepting for a moment
                log.warning("cannot accept connections (%s); trying again in %g s", exc.strerror, ACCEPT_PAUSE_S)
                loop.remove_reader(fd)
                loop.call_later(ACCEPT_PAUSE_S, loop.add_reader, fd, accept)
                return
            loop.create_task(self._open(conn))

        loop.add_reader(fd, accept)
        return lambda: loop.remove_reader(fd)

    async def _open(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=http1.READ_SIZE)
        except OSError:
            conn.close()
            return
        await self.serve_connection(reader, writer)

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        self.connections.add(writer)
        stream = Stream(reader)
        try:
            while not self.stopping and await self._serve_one(stream, writer):
                pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stopped reading our answer
        except asyncio.CancelledError:
            pass  # the worker stops: past its grace, this connection ends here
        finally:
            self.connections.discard(writer)
            self.busy.discard(writer)
            writer.close()

    async def _serve_one(self, stream: Stream, writer: asyncio.StreamWriter) -> bool:
        """Read, run and answer one request; True if the connection may carry another."""
        try:
            async with asyncio.timeout(http1.HEAD_TIMEOUT_S):
                head = await http1.read_head(stream)
        except TimeoutError:
            if stream.buffer:  # a head begun and never finished: say so, then hang up
                await self._refuse(writer, Refusal(408, "the request head did not arrive in time",
                                                   http1.target_of(stream.buffer)))
            return False
        except Refusal as refusal:
            if refusal.status == 431:  # the rest of the head, so that a client sending it all sees the 431
                await _drain(stream, None, b"\r\n\r\n")
            await self._refuse(writer, refusal)
            return False
        if head is None:
            return False
        self.busy.add(writer)
        try:
            request = await self._read_request(head, stream, writer)
            if request is None:
                return False
            answer = None
            if self.inline:
                environ = environ_for(request, writer)
                environ[INLINE] = True
                answer = self._call_app(environ)
            if answer is None or handed_over(answer[1]):  # it may wait: in a thread, from the start
                answer = await asyncio.get_running_loop().run_in_executor(
                    self.pool, self._call_app, environ_for(request, writer))
            status, headers, body = answer
            keep_alive = request.keep_alive and not self.stopping
            await self._write(writer, status, headers, b"" if request.method == "HEAD" else body, keep_alive,
                              head_only=request.method == "HEAD")
            return keep_alive
        finally:
            self.busy.discard(writer)

    async def _read_request(self, head: bytes, stream: Stream, writer: asyncio.StreamWriter) -> Request | None:
        length: int | None = 0
        expects_continue = False
        try:
            request = http1.parse_head(head)
            length = http1.body_length(request, request.target)
            expects_continue = (request.header("expect") or "").lower() == "100-continue"
            if expects_continue and (length is None or length <= self.max_body_bytes):
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if length is not None and length <= min(len(stream.buffer), self.max_body_bytes):
                request.body = stream.take(length)  # it came with the head (most requests): no timer needed
                return request
            try:
                async with asyncio.timeout(http1.BODY_TIMEOUT_S):
                    request.body = await http1.read_body(stream, length, self.max_body_bytes, request.target)
            except TimeoutError:
                raise Refusal(408, "the request body did not arrive in time", request.target) from None
            return request
        except Refusal as refusal:
            if refusal.status == 413 and not expects_continue and (length is None or length <= http1.DRAIN_LIMIT):
                await _drain(stream, length)
            await self._refuse(writer, refusal)
            return None

    # -- answers -------------------------------------------------------------------------------
    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Runs in a pool thread: the app's whole answer."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                getattr(result, "close", lambda: None)()
            return started[0], started[1], b"".join(chunks)
        except Exception:  # Flask answers its own errors; this is a fault of the front itself
            log.exception("the app failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, body = self._error_body(500, "the mock failed", environ.get("PATH_INFO", "/"))
            return status, [("Content-Type", "application/json")], body

    def _error_body(self, status: int, detail: str, target: str) -> tuple[str, bytes]:
        import json
        path = urlsplit(target).path or "/"
        contract = self.app.extensions["mockserver"].contract  # type: ignore[attr-defined]
        body, status = render(ApiError.of(status, None, None, detail), family_of_path(path), contract)
        return _status_line(status), json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def _refuse(self, writer: asyncio.StreamWriter, refusal: Refusal) -> None:
        status, body = self._error_body(refusal.status, refusal.detail, refusal.target)
        try:
            await self._write(writer, status, [("Content-Type", "application/json")], body, keep_alive=False)
        except (ConnectionError, TimeoutError):
            pass

    async def _write(self, writer: asyncio.StreamWriter, status: str, headers: list[tuple[str, str]], body: bytes,
                     keep_alive: bool, head_only: bool = False) -> None:
        lines = [f"HTTP/1.1 {status}\r\n", _date_line()]
        length = None
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                length = value
            if lower in _NOT_FORWARDED or "\r" in value or "\n" in value:
                continue
            lines.append(f"{name}: {value}\r\n")
        code = int(status[:3])
        if code >= 200 and code not in (204, 304):
            lines.append(f"Content-Length: {length if head_only and length is not None else len(body)}\r\n")
        lines.append("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
        writer.write("".join(lines).encode("latin-1", "replace") + body)
        if writer.transport.get_write_buffer_size():  # the socket did not take it all at once
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await writer.drain()

    # -- stopping ------------------------------------------------------------------------------
    async def stop(self, grace_s: float) -> None:
        """Finish requests under way (for `grace_s` at most) and close idle connections."""
        self.stopping = True
        deadline = asyncio.get_running_loop().time() + grace_s
        for writer in list(self.connections - self.busy):
            writer.close()
        while self.busy and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for writer in list(self.connections):
            writer.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


async def _drain(stream: Stream, length: int | None, end: bytes = http1.LAST_CHUNK) -> None:
    try:
        async with asyncio.timeout(http1.DRAIN_TIMEOUT_S):
            await http1.drain(stream, length, end)
    except TimeoutError:
        pass


_date: list[Any] = [0, ""]


def _date_line() -> str:
    """The Date header, formatted once a second rather than for every answer."""
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, f"Date: {formatdate(now, usegmt=True)}\r\n"]
    return _date[1]


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def environ_for(request: Request, writer: asyncio.StreamWriter) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of a complete request."""
    target = request.target
    if not target.startswith("/"):  # absolute-form (or "*"): the path is what the app routes on
        target = urlsplit(target)._replace(scheme="", netloc="").geturl() or "/"
    path, _, query = target.partition("?")
    peer = writer.get_extra_info("peername") or ("", 0)
    local = writer.get_extra_info("sockname") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
        "RAW_URI": request.target, "REQUEST_URI": request.target,
        "SERVER_NAME": str(local[0]), "SERVER_PORT": str(local[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.version[0]}.{request.version[1]}",
        "REMOTE_ADDR": str(peer[0]), "REMOTE_PORT": str(peer[1]),
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if request.body or request.header("content-length") is not None or request.header("transfer-encoding"):
        environ["CONTENT_LENGTH"] = str(len(request.body))
    for name, value in request.headers:
        if name in ("content-length", "transfer-encoding") or "_" in name:
            continue  # framing is the front's; '_' would let X_Foo pose as X-Foo
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
