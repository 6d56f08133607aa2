"""Replicas, as answers show them.

Read-your-writes across the read replica: a request that only reads runs as a read (gis.core.replica decides
where its queries go, from the caller's last write position); a request that writes is answered with the
primary's WAL position, in the `Petakota-LSN` header and the `petakota-lsn` cookie, for the caller's next reads.
Clients without cookies send the header back as they got it. A read says which database answered it in
`Petakota-Read-From` (replica or primary).

Behind a load balancer, `X-PetaKota-Replica` on every answer names the API replica that served it (the logs of
that one hold the rest). Both are plain ASGI middlewares: a header costs no task per request."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser

from gis.core.replica import READ_METHODS, format_lsn, parse_lsn, reading

LSN_COOKIE = "petakota-lsn"
LSN_HEADER = b"petakota-lsn"
READ_FROM_HEADER = b"petakota-read-from"
REPLICA_HEADER = b"x-petakota-replica"
COOKIE_SECONDS = 300  # far longer than the replica's lag: after that the replica has the write anyway


def caller_lsn(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The newest write position the caller sent (header or cookie); unreadable values are ignored."""
    found = []
    for name, value in headers:
        if name == LSN_HEADER:
            found.append(parse_lsn(value.decode("latin-1")))
        elif name == b"cookie":
            found.append(parse_lsn(cookie_parser(value.decode("latin-1")).get(LSN_COOKIE)))
    return max((lsn for lsn in found if lsn is not None), default=None)


class ReadRoutingMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        router = getattr(scope.get("app").state, "replica_router", None) if scope.get("app") else None
        if scope["type"] != "http" or router is None:
            return await self.app(scope, receive, send)
        if scope["method"] in READ_METHODS:
            with reading(caller_lsn(scope["headers"])) as route:

                async def with_source(message):
                    # Which database answered (none when the answer came from a cache): for logs and operators.
                    if message["type"] == "http.response.start" and route.engine is not None:
                        source = b"replica" if route.engine is router.replica else b"primary"
                        message = {**message, "headers": [*message.get("headers", []), (READ_FROM_HEADER, source)]}
                    await send(message)

                return await self.app(scope, receive, with_source)

        async def with_position(message):
            if message["type"] == "http.response.start" and message["status"] < 400:
                try:
                    lsn = format_lsn(await run_in_threadpool(router.primary_position))
                except Exception:  # the write is done; its response must not fail for want of a position
                    lsn = None
                if lsn:
                    cookie = f"{LSN_COOKIE}={lsn}; Path=/; Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Lax"
                    headers = [*message.get("headers", []), (LSN_HEADER, lsn.encode()),
                               (b"set-cookie", cookie.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_position)


class ReplicaHeaderMiddleware:
    def __init__(self, app, name: str):
        self.app = app
        self.name = name.encode("latin-1")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def named(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (REPLICA_HEADER, self.name)]}
            await send(message)

        await self.app(scope, receive, named)
