"""HEAD for every GET resource (RFC 9110 9.3.2): the GET is answered with the same status and headers (ETag,
Content-Type, Content-Length...) and no body. Done once for the whole app, in front of compression, so that
the headers are exactly those of the GET."""

from __future__ import annotations


class HeadAsGetMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def without_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD, and so sends no body whatever it is given.
        await self.app({**scope, "method": "GET"}, receive, without_body)
