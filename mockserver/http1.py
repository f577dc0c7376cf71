"""Reading one HTTP/1.1 request from an asyncio stream, inside fixed bounds of size and time.

Why the mock reads requests itself instead of leaving it to gunicorn's worker: gunicorn's sync and
threaded workers give a whole process or thread to a client from its first byte, so two sockets that
never finish their head froze the mock, and its parser's limits had to be raised so far (to let long
values reach the contract checks) that a 24 MB head cost 113 s of CPU. Here a head is read by the event
loop (an idle or slow client costs a few KiB and a timer, nothing else), must end within
`MAX_HEAD_BYTES` and `HEAD_TIMEOUT_S`, and is parsed once it is complete, in linear time.

A request that breaks HTTP's framing raises `Refusal`: its status and a reason for the error envelope
of the API called (the front renders it); the connection is closed after the answer.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

MAX_HEAD_BYTES = 64 * 1024      # request line + headers; long values within it reach the contract checks
HEAD_TIMEOUT_S = 10.0           # from the end of the last answer (or the accept) to the end of the next head
BODY_TIMEOUT_S = 30.0           # for the whole body
DRAIN_LIMIT = 32 * 1024 * 1024  # a too-large body is read and dropped up to here, so its sender sees the 413
DRAIN_TIMEOUT_S = 10.0
MAX_CHUNK_LINE = 4096           # a chunk-size line with its extensions; trailers are bounded by the head limit
READ_SIZE = 64 * 1024
LAST_CHUNK = b"\r\n0\r\n\r\n"    # the end of a chunked body without trailers

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\x00-\x20\x7f]+) HTTP/(\d)\.(\d)")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than HTAB
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class Refusal(Exception):
    """The request cannot be read as HTTP/1.1: answer `status` with `detail`, then close."""

    def __init__(self, status: int, detail: str, target: str = "/"):
        super().__init__(detail)
        self.status, self.detail, self.target = status, detail, target


@dataclass
class Request:
    method: str
    target: str                               # as sent (latin-1), e.g. /path?query
    version: tuple[int, int]
    headers: list[tuple[str, str]] = field(default_factory=list)  # names lower-cased, values latin-1
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ",".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens


class Stream:
    """A StreamReader with the bytes read ahead kept (the next pipelined request's, say)."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader
        self.buffer = bytearray()

    async def more(self) -> bool:
        """Read what arrives next into the buffer; False at end of stream."""
        data = await self.reader.read(READ_SIZE)
        if not data:
            return False
        self.buffer += data
        return True

    def take(self, count: int) -> bytes:
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data


async def read_head(stream: Stream) -> bytes | None:
    """The head up to its blank line (None: the client closed before sending a byte). Call inside a
    time-out; a head longer than MAX_HEAD_BYTES is refused as soon as that much has come."""
    searched = 0
    while True:
        while stream.buffer[:2] == b"\r\n":  # RFC 9112 section 2.2: ignore empty lines before a request
            del stream.buffer[:2]
        end = stream.buffer.find(b"\r\n\r\n", max(0, searched - 3))
        if end >= 0:
            if end + 4 > MAX_HEAD_BYTES:
                break
            return stream.take(end + 4)
        if len(stream.buffer) >= MAX_HEAD_BYTES:
            break
        searched = len(stream.buffer)
        if not await stream.more():
            if stream.buffer:
                raise Refusal(400, "the connection closed in the middle of the request head", target_of(stream.buffer))
            return None
    raise Refusal(431, f"the request head is longer than {MAX_HEAD_BYTES} bytes", target_of(stream.buffer))


def target_of(head: bytes | bytearray) -> str:
    """The path of a request line, as well as it can be read (it picks the error envelope)."""
    parts = bytes(head[:8192]).split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) > 1 and parts[1].startswith(b"/") else "/"


def parse_head(head: bytes) -> Request:
    lines = head[:-4].split(b"\r\n")
    matched = _REQUEST_LINE.fullmatch(lines[0])
    target = target_of(head)
    if matched is None:
        raise Refusal(400, "the request line is not 'METHOD target HTTP/1.x'", target)
    method, raw_target, major, minor = matched.groups()
    if major != b"1" or minor not in (b"0", b"1"):
        raise Refusal(505, f"HTTP/{major.decode()}.{minor.decode()} is not served; use HTTP/1.1", target)
    if not (raw_target.startswith(b"/") or raw_target == b"*" or raw_target.startswith((b"http://", b"https://"))):
        raise Refusal(400, "the request target is not a path", target)
    request = Request(method.decode("ascii"), raw_target.decode("latin-1"), (1, int(minor)))
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            detail = ("a header line is folded (obsolete line folding)" if line[:1] in (b" ", b"\t")
                      else "a header line is not 'Name: value'")
            raise Refusal(400, detail, target)
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise Refusal(400, f"the value of header {name.decode('ascii')!r} holds control characters", target)
        request.headers.append((name.decode("ascii").lower(), value.decode("latin-1")))
    if request.version >= (1, 1) and request.header("host") is None:
        raise Refusal(400, "an HTTP/1.1 request needs a Host header", target)
    return request


def body_length(request: Request, target: str) -> int | None:
    """The declared Content-Length; None for a chunked body. Refuses framing that two readers could
    read two ways (both headers, differing lengths, a coding other than chunked)."""
    coding = request.header("transfer-encoding")
    lengths = {v.strip() for k, v in request.headers if k == "content-length" for v in v.split(",")}
    if coding is not None:
        if lengths:
            raise Refusal(400, "Content-Length and Transfer-Encoding together", target)
        if [c.strip().lower() for c in coding.split(",")] != ["chunked"]:
            raise Refusal(501, f"transfer coding {coding[:40]!r} is not supported (only chunked)", target)
        return None
    if not lengths:
        return 0
    if len(lengths) > 1 or not all(v.isdigit() and v.isascii() for v in lengths):
        raise Refusal(400, "Content-Length is not one number", target)
    return int(lengths.pop())


async def read_body(stream: Stream, length: int | None, limit: int, target: str) -> bytes:
    """The body, at most `limit` bytes either way (Content-Length or chunked). Call inside a time-out."""
    if length is not None:
        if length > limit:
            raise Refusal(413, f"the body is larger than the mock accepts ({limit} bytes)", target)
        while len(stream.buffer) < length:
            if not await stream.more():
                raise Refusal(400, f"the body ended after {len(stream.buffer)} of its {length} bytes", target)
        return stream.take(length)
    return await _read_chunked(stream, limit, target)


async def _read_chunked(stream: Stream, limit: int, target: str) -> bytes:
    body = bytearray()
    while True:
        line = await _read_line(stream, MAX_CHUNK_LINE, target)
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not _HEX.fullmatch(size_text):
            raise Refusal(400, f"bad chunk size {size_text[:20].decode('latin-1')!r}", target)
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise Refusal(413, f"the body is larger than the mock accepts ({limit} bytes)", target)
        while len(stream.buffer) < size + 2:
            if not await stream.more():
                raise Refusal(400, "the chunked body ended before its last chunk", target)
        if stream.buffer[size:size + 2] != b"\r\n":
            raise Refusal(400, "a chunk is longer than its size says", target)
        body += stream.take(size)
        del stream.buffer[:2]
    trailers = 0
    while True:  # trailer fields, ignored, up to the blank line
        line = await _read_line(stream, MAX_CHUNK_LINE, target)
        trailers += len(line)
        if not line:
            return bytes(body)
        if trailers > MAX_HEAD_BYTES:
            raise Refusal(431, "the chunked body's trailers are too long", target)


async def _read_line(stream: Stream, limit: int, target: str) -> bytes:
    while True:
        end = stream.buffer.find(b"\r\n")
        if 0 <= end <= limit:
            line = stream.take(end)
            del stream.buffer[:2]
            return line
        if end > limit or len(stream.buffer) > limit:
            raise Refusal(400, "a chunk-size line is too long", target)
        if not await stream.more():
            raise Refusal(400, "the chunked body ended before its last chunk", target)


async def drain(stream: Stream, length: int | None, end: bytes = LAST_CHUNK) -> None:
    """Read and drop what is left of a refused head or body, up to DRAIN_LIMIT (call inside a time-out),
    so a client that sends it all before it reads sees the answer instead of a reset. Without a
    `length`, up to the `end` marker (by default a chunked body's last chunk)."""
    budget = DRAIN_LIMIT if length is None else min(length, DRAIN_LIMIT)
    tail = b""
    while budget > 0:
        if stream.buffer:
            tail = (tail + bytes(stream.buffer[-len(end):]))[-len(end):]
            dropped = min(len(stream.buffer), budget)
            del stream.buffer[:dropped]
            budget -= dropped
            if length is None and tail == end:
                return
            continue
        if not await stream.more():
            return
