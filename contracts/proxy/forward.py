"""Forwarding: an HTTP/1.1 reverse proxy on asyncio and h11 that passes every message on unchanged.

Why h11 on bare asyncio streams rather than a web framework: a framework adds headers of its
own (Server, Date, Content-Type) and rewrites others; h11 writes exactly the header lines it
is given, in their order and casing, and leaves the rest to us. Each client connection gets
its own upstream connection, kept alive while both ends allow it (no pool to manage), and the
bytes of one message are written with one call, so the added latency is about one parse and
one write per message (bench/bench_proxy.py measures it against going direct).

What changes on the way: the hop-by-hop headers (RFC 9110 7.6.1: Connection and the headers it
names, Keep-Alive, Proxy-*, TE, Trailer, Upgrade) are not passed on, `Host` names the
upstream, and a body's chunk boundaries may differ (the framing header itself is kept). An
upstream that cannot be reached is answered 502 with a JSON body naming the proxy.
"""
from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import h11

from .exchange import CHECK_LIMIT, Exchange

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade",
                        b"proxy-authenticate", b"proxy-authorization"})
CONTROL_PREFIX = "/__proxy/"
READ_SIZE = 1 << 16
MAX_HEADER_BYTES = 1 << 16   # a request or answer head larger than this is refused (h11's own limit is 16 KiB)
CONNECT_TIMEOUT_S = 10.0

Inspect = Callable[[Exchange], Sequence[Any]]
Replace = Callable[[Exchange, Sequence[Any]], "Answer"]
Control = Callable[[Exchange], "Answer"]


@dataclass(frozen=True)
class Answer:
    """An answer the proxy writes itself (control endpoint, --errors replacement, 502)."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, status: int, document: Any) -> "Answer":
        return cls(status, json.dumps(document, ensure_ascii=True, indent=1).encode("ascii"))

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"Content-Type", self.content_type.encode("ascii")),
                (b"Content-Length", str(len(self.body)).encode("ascii"))]


@dataclass(frozen=True)
class Upstream:
    scheme: str
    host: str
    port: int
    prefix: str       # a base path the upstream is served under ('' for none)
    authority: bytes  # the Host header the upstream gets

    @classmethod
    def from_url(cls, url: str) -> "Upstream":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be an http(s) URL, got {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        default = (parts.scheme, port) in (("http", 80), ("https", 443))
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        authority = host if default else f"{host}:{port}"
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), authority.encode("idna"))


class _Leg:
    """One end of a connection with its h11 state; outgoing bytes are gathered and written at once."""

    def __init__(self, role: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.conn = h11.Connection(role, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.reader, self.writer = reader, writer
        self._out: list[bytes] = []
        self.used = False

    async def next_event(self, before_wait: "_Leg | None" = None) -> Any:
        """The next h11 event; flushes `before_wait` (the other leg) before blocking on the network."""
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if before_wait is not None:
                await before_wait.flush()
            self.conn.receive_data(await self.reader.read(READ_SIZE))

    def send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            self._out.append(data)

    async def flush(self) -> None:
        if self._out:
            self.writer.write(b"".join(self._out))
            self._out.clear()
            await self.writer.drain()

    def reusable(self) -> bool:
        return (self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE
                and not self.reader.at_eof() and not self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


def _end_to_end(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers without the hop-by-hop ones and those `Connection` names."""
    named = {token.strip().lower() for name, value in headers if name.lower() == b"connection"
             for token in value.split(b",")}
    return [(name, value) for name, value in headers
            if name.lower() not in HOP_BY_HOP and name.lower() not in named]


def _texts(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _keep(buffer: bytearray, data: bytes) -> bool:
    """Append to a checked body while it fits; False once it was cut."""
    if len(buffer) + len(data) > CHECK_LIMIT:
        return False
    buffer += data
    return True


class Forwarder:
    """Serves clients and forwards each exchange to the upstream; hands each one to `inspect`.

    `inspect` runs once per exchange: after the answer reached the client, or, when `replace`
    is given (--errors), before, so that a violating answer can be replaced by `replace`'s.
    """

    def __init__(self, upstream: Upstream, inspect: Inspect, control: Control, replace: Replace | None = None):
        self.upstream = upstream
        self.inspect = inspect
        self.control = control
        self.replace = replace
        self.exchanges = 0
        self.upstream_failures = 0
        self._ssl = ssl.create_default_context() if upstream.scheme == "https" else None
        self._clients: set[asyncio.Task[None]] = set()
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._server = await asyncio.start_server(self._serve_client, host, port, backlog=1024, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and end every client connection (kept-alive ones included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- one client connection ------------------------------------------------------------
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Leg(h11.SERVER, reader, writer)
        upstream: _Leg | None = None
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while True:
                event = await client.next_event()
                if not isinstance(event, h11.Request):
                    break  # ConnectionClosed, or PAUSED on a protocol switch we do not forward
                upstream = await self._exchange(client, event, upstream)
                if client.conn.our_state is h11.DONE and client.conn.their_state is h11.DONE:
                    client.conn.start_next_cycle()
                else:
                    break
        except (h11.RemoteProtocolError, _ClientError) as error:
            await self._refuse(client, error.error_status_hint, f"not an HTTP/1.1 message the proxy can read: {error}")
        except (OSError, asyncio.IncompleteReadError, h11.LocalProtocolError):
            pass  # a peer went away mid-message: nothing left to answer
        finally:
            self._clients.discard(task)
            if upstream is not None:
                upstream.close()
            client.close()

    async def _refuse(self, client: _Leg, status: int, why: str) -> None:
        if client.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        with _quietly():
            await self._answer(client, Answer.of_json(status, {"proxy": "contracts proxy", "error": why}))

    async def _answer(self, client: _Leg, answer: Answer) -> None:
        client.send(h11.Response(status_code=answer.status, headers=answer.headers()))
        client.send(h11.Data(data=answer.body))
        client.send(h11.EndOfMessage())
        await client.flush()

    # -- one exchange ---------------------------------------------------------------------
    async def _exchange(self, client: _Leg, request: h11.Request, upstream: _Leg | None) -> _Leg | None:
        self.exchanges += 1
        raw_headers = request.headers.raw_items()
        record = Exchange(request.method.decode("latin-1"), request.target.decode("latin-1"), _texts(raw_headers),
                          number=self.exchanges)
        if record.target.startswith(CONTROL_PREFIX):
            await self._read_body(client, record, None)
            await self._answer(client, self.control(record))
            return upstream
        headers = [(b"Host", self.upstream.authority)] + [
            (n, v) for n, v in _end_to_end(raw_headers) if n.lower() != b"host"]
        outgoing = h11.Request(method=request.method, target=self.upstream.prefix.encode("latin-1") + request.target,
                               headers=headers)
        fresh = upstream is None or not upstream.reusable()
        if fresh and upstream is not None:
            upstream.close()
        try:
            if fresh:
                upstream = await self._connect()
            assert upstream is not None
            first = await self._send_request(client, upstream, outgoing, record, replay=False)
            if first is None and not fresh and not record.request_cut:
                # A kept-alive upstream connection closed before answering: once more on a new one.
                upstream.close()
                upstream = await self._connect()
                first = await self._send_request(client, upstream, outgoing, record, replay=True)
            if first is None:
                raise ConnectionError("the upstream closed the connection without answering")
        except (OSError, asyncio.TimeoutError, h11.RemoteProtocolError) as error:
            self.upstream_failures += 1
            if upstream is not None:
                upstream.close()
            await self._drain_request(client)
            await self._refuse(client, 502, f"upstream {self.upstream.scheme}://{self.upstream.authority.decode()} "
                                            f"failed: {error.__class__.__name__}: {error}")
            return None
        await self._relay_response(client, upstream, first, record)
        if upstream.conn.our_state is h11.DONE and upstream.conn.their_state is h11.DONE:
            upstream.conn.start_next_cycle()
            return upstream
        upstream.close()
        return None

    async def _connect(self) -> _Leg:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.upstream.host, self.upstream.port, ssl=self._ssl, limit=READ_SIZE),
            CONNECT_TIMEOUT_S)
        return _Leg(h11.CLIENT, reader, writer)

    async def _send_request(self, client: _Leg, upstream: _Leg, outgoing: h11.Request, record: Exchange,
                            replay: bool) -> Any:
        """Send the request (streaming its body) and return the upstream's first answer event, or
        None when the upstream closed without a byte of answer."""
        upstream.send(outgoing)
        pump = None
        try:
            if replay:
                if record.request_body:
                    upstream.send(h11.Data(data=bytes(record.request_body)))
                upstream.send(h11.EndOfMessage())
                await upstream.flush()
            elif (record.request_header("expect") or "").lower() == "100-continue":
                await upstream.flush()  # the client waits for the upstream's 100 before its body
                pump = asyncio.ensure_future(self._read_body(client, record, upstream))
            else:
                await self._read_body(client, record, upstream)
            event = await upstream.next_event(before_wait=client)
            while isinstance(event, h11.InformationalResponse):
                client.send(h11.InformationalResponse(status_code=event.status_code, reason=event.reason,
                                                      headers=_end_to_end(event.headers.raw_items())))
                await client.flush()
                event = await upstream.next_event()
            if pump is not None:
                await pump
            return event
        except (h11.RemoteProtocolError, ConnectionError):
            answered, _ = upstream.conn.trailing_data
            if answered or upstream.conn.their_state is not h11.SEND_RESPONSE or not record.request_read:
                raise
            return None  # closed before a byte of answer, after the whole request was read
        finally:
            if pump is not None and not pump.done():
                pump.cancel()

    async def _read_body(self, client: _Leg, record: Exchange, upstream: _Leg | None) -> None:
        """Read the client's body, keeping what the checks need and passing it on as it comes."""
        body = bytearray()
        while True:
            try:
                event = await client.next_event(before_wait=upstream)
            except h11.RemoteProtocolError as error:
                raise _ClientError(error.error_status_hint, str(error)) from None
            if isinstance(event, h11.Data):
                if not record.request_cut and not _keep(body, event.data):
                    record.request_cut = True
                    body.clear()
                if upstream is not None:
                    upstream.send(h11.Data(data=event.data))
            elif isinstance(event, h11.EndOfMessage):
                if upstream is not None:
                    upstream.send(h11.EndOfMessage(headers=event.headers.raw_items()))
                    await upstream.flush()
                record.request_body = bytes(body)
                record.request_read = True
                return
            else:
                raise _ClientError(400, "the request ended early")

    async def _drain_request(self, client: _Leg) -> None:
        with _quietly():
            while client.conn.their_state is h11.SEND_BODY:
                await client.next_event()

    async def _relay_response(self, client: _Leg, upstream: _Leg, response: h11.Response, record: Exchange) -> None:
        raw_headers = response.headers.raw_items()
        record.status = response.status_code
        record.response_headers = _texts(raw_headers)
        head = h11.Response(status_code=response.status_code, reason=response.reason, headers=_end_to_end(raw_headers))
        body = bytearray()
        if self.replace is not None:  # --errors: hold the answer until it is judged
            trailers, complete = await self._buffer_response(upstream, body, record)
            if complete:
                record.response_body = bytes(body)
                found = self.inspect(record)
                if found:
                    await self._answer(client, self.replace(record, found))
                    return
            client.send(head)
            if body:
                client.send(h11.Data(data=bytes(body)))
            if complete:
                client.send(h11.EndOfMessage(headers=trailers))
                await client.flush()
                return
            body.clear()
        else:
            client.send(head)
        while True:
            event = await upstream.next_event(before_wait=client)
            if isinstance(event, h11.Data):
                if not record.response_cut and not _keep(body, event.data):
                    record.response_cut = True
                    body.clear()
                client.send(h11.Data(data=event.data))
            elif isinstance(event, h11.EndOfMessage):
                client.send(h11.EndOfMessage(headers=event.headers.raw_items()))
                break
            else:
                raise h11.RemoteProtocolError("the answer ended early")
        await client.flush()
        record.response_body = bytes(body)
        if self.replace is None or record.response_cut:
            self.inspect(record)

    async def _buffer_response(self, upstream: _Leg, body: bytearray, record: Exchange
                               ) -> tuple[list[tuple[bytes, bytes]], bool]:
        """Read the answer while it fits the check limit: (trailers, True) when it was read whole."""
        while True:
            event = await upstream.next_event()
            if isinstance(event, h11.Data):
                if not _keep(body, event.data):
                    record.response_cut = True
                    body += event.data  # forwarded as is; the checks see it as cut
                    return [], False
            elif isinstance(event, h11.EndOfMessage):
                return event.headers.raw_items(), True
            else:
                raise h11.RemoteProtocolError("the answer ended early")


class _ClientError(Exception):
    """The client's message cannot be read (bad framing, a body cut short)."""

    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.error_status_hint = status


class _quietly:
    """Suppress the errors of writing to a peer that is already gone."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, (OSError, h11.LocalProtocolError, h11.RemoteProtocolError,
                                                      asyncio.IncompleteReadError))
