"""Text that survives any bytes a fuzzer or a client produces, for everything the kit writes.

`printable` escapes control characters, lone surrogates and other unprintable code points, so
console lines, JSON and JUnit (XML 1.0 forbids most control characters even as references) stay
readable and well-formed; `decoded` turns bytes into text without ever failing.
"""
from __future__ import annotations


def printable(text: str) -> str:
    """`text` with every non-printable character (controls, lone surrogates, ...) as a \\x/\\u escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def printable_lines(text: str) -> str:
    """Like `printable`, but line breaks stay line breaks (for multi-line console and JUnit text)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def decoded(raw: bytes) -> str:
    """Bytes as text that never fails: UTF-8, with undecodable bytes as \\xNN."""
    return raw.decode("utf-8", "backslashreplace")
