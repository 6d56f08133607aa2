"""The smallest FastCGI client (responder role, one request per connection): what a web server in front of
MapServer's FastCGI processes does, without the web server, so MapServer is measured on its own."""

from __future__ import annotations

import socket
import struct

VERSION, BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 1, 3, 4, 5, 6, 7
RESPONDER = 1


def _record(kind: int, body: bytes, request_id: int = 1) -> bytes:
    return struct.pack(">BBHHBx", VERSION, kind, request_id, len(body), 0) + body


def _pair(name: str, value: str) -> bytes:
    out = b""
    for part in (name.encode(), value.encode()):
        n = len(part)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name.encode() + value.encode()


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the FastCGI server closed the connection mid-answer")
        data += chunk
    return data


def get(host: str, port: int, query: str, timeout: float = 60) -> tuple[dict, bytes]:
    """GET `query` (the CGI QUERY_STRING) from the FastCGI application at host:port: (headers, body)."""
    params = {"REQUEST_METHOD": "GET", "QUERY_STRING": query, "SCRIPT_NAME": "/mapserv",
              "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
              "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": "0"}
    body = b"".join(_pair(k, v) for k, v in params.items())
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(_record(BEGIN, struct.pack(">HB5x", RESPONDER, 0)) + _record(PARAMS, body)
                     + _record(PARAMS, b"") + _record(STDIN, b""))
        out, err = bytearray(), bytearray()
        while True:
            _, kind, _, length, padding = struct.unpack(">BBHHBx", _read(sock, 8))
            content = _read(sock, length + padding)[:length]
            if kind == STDOUT:
                out += content
            elif kind == STDERR:
                err += content
            elif kind == END:
                break
    head, _, payload = bytes(out).partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if err:
        headers["x-stderr"] = err.decode(errors="replace")
    return headers, payload
