"""HTTP/1.1 read off a raw socket, for the tests that talk to the server byte by byte
(hostile clients, connection limits): what an ``httpx`` client would hide."""

from __future__ import annotations

import socket


def read_response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response from ``conn``: status, headers (lower-case names), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"closed before an answer: {data[:200]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = conn.recv(65536)
        assert chunk, "closed in the middle of the answer"
        body += chunk
    return int(status_line.split()[1]), headers, body
