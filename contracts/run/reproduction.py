"""Reproductions a reader can run: a curl command per exchange, a bash script per lifecycle sequence.

A shell argument cannot carry a NUL byte, and a console line cannot show other control characters or
bytes that are not UTF-8; a body or header holding any of them is written to a file instead
(`BodyFiles`, beside the report) and sent with `--data-binary @file` / `-H @file`, so every command
sends exactly the bytes the suite sent.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..text import decoded, printable

ANSWER_KEPT = 4000  # characters of an answer kept in a finding
# Headers curl sets itself or that only frame one hop; sending them by hand would change the exchange.
NOT_REPEATED = {"content-length", "connection", "accept-encoding", "user-agent", "host", "transfer-encoding"}


@dataclass
class Exchange:
    """One request and its answer, enough to reproduce it by hand. `body` holds the bytes sent."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int | None
    answer: str
    request_id: str | None = None  # the request this exchange acted on, when one (for sequences)
    created: bool = False          # this exchange created `request_id`

    def __post_init__(self) -> None:
        if isinstance(self.body, str):
            self.body = self.body.encode("utf-8")
        self.headers = {_text(k): _text(v) for k, v in self.headers.items()}

    @property
    def body_text(self) -> str | None:
        """The body when a console line can show it exactly, else None."""
        return _inline(self.body) if self.body else None

    def curl(self, files: "BodyFiles", substitute: dict[str, str] | None = None) -> str:
        """A curl command sending this request; `substitute` maps literal text (an id) to a shell variable."""
        parts = ["curl", "-X", _arg(self.method, substitute), _arg(self.url, substitute)]
        named = {name.lower() for name in self.headers}
        for name, value in self.headers.items():
            if name.lower() in NOT_REPEATED:
                continue
            line = f"{name}: {value}"
            parts += ["-H", _arg(line, substitute) if _inline(line.encode("utf-8")) is not None
                      else "@" + shlex.quote(files.write(line.encode("utf-8") + b"\n", ".header"))]
        if self.body:
            if "content-type" not in named:  # curl would add a form content type of its own
                parts += ["-H", shlex.quote("Content-Type:")]
            text = self.body_text
            parts += ["--data-binary", _arg(text, substitute) if text is not None
                      else "@" + shlex.quote(files.write(self.body, ".body"))]
        return " ".join(parts)

    def as_dict(self, files: "BodyFiles") -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": printable(self.url), "status": self.status,
                               "headers": {printable(k): printable(v) for k, v in self.headers.items()},
                               "answer": printable(self.answer), "curl": self.curl(files)}
        if self.body:
            text = self.body_text
            out["body"] = text if text is not None else None
            if text is None:
                out["bodyBase64"] = base64.b64encode(self.body).decode("ascii")
                out["bodyFile"] = files.write(self.body, ".body")
        return out


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _inline(data: bytes) -> str | None:
    """The bytes as text when they are UTF-8 and every character is printable (space included)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _arg(text: str, substitute: dict[str, str] | None) -> str:
    """One shell word for `text`, with each substituted literal replaced by "$variable"."""
    if not substitute:
        return shlex.quote(text)
    pieces = [text]
    for literal, variable in substitute.items():
        pieces = [p for piece in pieces for p in _split_keep(piece, literal, variable)]
    return "".join(p if isinstance(p, _Var) else shlex.quote(p) for p in pieces if p != "")


class _Var(str):
    """A `"$name"` piece of a shell word (left unquoted by `_arg`)."""


def _split_keep(piece: str, literal: str, variable: str) -> list[str]:
    if isinstance(piece, _Var) or literal not in piece:
        return [piece]
    out: list[str] = []
    for i, part in enumerate(piece.split(literal)):
        if i:
            out.append(_Var(f'"${variable}"'))
        out.append(part)
    return out


@dataclass
class BodyFiles:
    """Where bodies and headers too awkward for a shell argument go: content-addressed files in `directory`."""

    directory: str
    written: set[str] = field(default_factory=set)

    def write(self, data: bytes, suffix: str) -> str:
        name = hashlib.sha256(data).hexdigest()[:16] + suffix
        path = os.path.join(self.directory, name)
        if path not in self.written:
            os.makedirs(self.directory, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
            self.written.add(path)
        return path


def exchange_of(response: Any) -> Exchange | None:
    """An Exchange from a requests or Schemathesis response (both keep the prepared request)."""
    req = getattr(response, "request", None)
    if req is None:
        return None
    body = req.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    status = getattr(response, "status_code", None)
    content = getattr(response, "content", None)
    text = decoded(content) if isinstance(content, bytes) else str(getattr(response, "text", "") or "")
    return Exchange(req.method or "", str(req.url or ""), dict(req.headers), body, status, text[:ANSWER_KEPT])


def script(steps: Sequence[Exchange], files: BodyFiles) -> str:
    """A bash script replaying `steps` in order: the id a create step answers is read from its answer
    and used by every later step, so the sequence runs afresh against any deployment."""
    lines = ["#!/usr/bin/env bash", "# replays the steps that broke the rule; the last step's answer shows it",
             "set -u"]
    substitute: dict[str, str] = {}
    for number, step in enumerate(steps, 1):
        command = step.curl(files, substitute)
        lines.append(f"# step {number}: {step.method} -> HTTP {step.status}")
        if step.created and step.request_id:
            variable = f"id{len(substitute) + 1}"
            lines.append(f"{variable}=$({command} -sS | python3 -c "
                         + shlex.quote("import json,sys; print(json.load(sys.stdin)['data']['requestId'])") + ")")
            lines.append(f'echo "{variable}=${variable}"')
            substitute[step.request_id] = variable
        else:
            lines.append(f"{command} -sS -w '\\nHTTP %{{http_code}}\\n'")
    return "\n".join(lines) + "\n"
