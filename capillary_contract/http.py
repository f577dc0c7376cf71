"""HTTP vocabulary every client and server of the contract shares: the header names Capillary
documents, Basic credentials as clients send them, and a free loopback port for test servers.

    >>> basic_authorization("maker", "maker")
    'Basic bWFrZXI6bWFrZXI='
"""
from __future__ import annotations

import base64
import socket

ORG_HEADER = "X-CAP-API-AUTH-ORG-ID"     # the organisation a v2 call acts in
TOKEN_HEADER = "X-CAP-UI-AUTH-TOKEN"     # an Intouch user JWT, the alternative to Basic auth
# Headers that frame an HTTP message or concern one hop (RFC 9110 section 7.6.1, RFC 9112): a client
# never makes them up and a forwarder never passes them on (lower-case names).
TRANSPORT_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection", "keep-alive", "te",
                               "trailer", "upgrade", "expect", "proxy-connection", "proxy-authenticate",
                               "proxy-authorization"})


def basic_authorization(username: str, password: str) -> str:
    """The `Authorization` value for Basic credentials (`user:password`, or `user:md5(password)`)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, for a server a test or a run starts on `host`."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
