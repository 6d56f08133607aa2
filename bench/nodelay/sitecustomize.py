"""Put on PYTHONPATH of every server the benchmark starts (PetaKota, tipg, TiTiler alike): turn on TCP_NODELAY
for accepted connections even when uvicorn passes a pre-bound socket to its workers.

`uvicorn --workers N` binds the listening socket with proto 0; accepted sockets inherit it, and asyncio only sets
TCP_NODELAY when proto == IPPROTO_TCP. Nagle then holds each small response body until the client's delayed ACK,
about 40 ms per keep-alive request (uvicorn issue #3149). This makes asyncio ignore proto, as it would for a
listener it had created itself; bench/run.py also measures one PetaKota without it to show the difference.
"""

import asyncio.base_events
import socket


def _set_nodelay(sock):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


asyncio.base_events._set_nodelay = _set_nodelay
