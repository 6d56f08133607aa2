"""A request body limit for every endpoint: refused with 413 from its declared length or as soon as the
streamed bytes pass the limit, before anything is parsed. File uploads (a POST to a path ending in
/attachments) have a limit of their own, the attachment size plus the multipart framing."""

from __future__ import annotations

import json


class BodyLimitMiddleware:
    def __init__(self, app, max_bytes: int, upload_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes

    def _limit(self, scope) -> int:
        return self.upload_bytes if scope["path"].endswith("/attachments") else self.max_bytes

    async def _refuse(self, scope, send) -> None:
        what = "the file" if self._limit(scope) == self.upload_bytes != self.max_bytes else "the body"
        body = json.dumps({"type": "about:blank", "title": "Payload too large", "status": 413,
                           "detail": f"{what} is larger than {self._limit(scope) // 1_000_000} MB",
                           "instance": scope.get("path", "")}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, send)


class _TooLarge(Exception):
    pass
