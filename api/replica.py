"""X-PetaKota-Replica on every answer: which of the replicas behind the load balancer served it (the logs of
that one hold the rest). A plain ASGI middleware: it costs one header, not a task per request."""

from __future__ import annotations

HEADER = b"x-petakota-replica"


class ReplicaHeaderMiddleware:
    def __init__(self, app, name: str):
        self.app = app
        self.name = name.encode("latin-1")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def named(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, self.name)]}
            await send(message)

        await self.app(scope, receive, named)
