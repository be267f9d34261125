"""Two small ASGI middlewares: a request-body size limit and bearer-token authentication.

Both are plain ASGI callables (no ``BaseHTTPMiddleware``), so they add microseconds, not a
task switch, to every request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BearerAuth", "BodyLimit", "BodyTooLarge"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body passed the server's limit while it was being read."""


async def send_json(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer with ``{"detail": detail}`` and close the exchange."""
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class BodyLimit:
    """Refuse bodies over ``max_bytes``: at once from Content-Length, else while reading.

    A chunked body that passes the limit raises :class:`BodyTooLarge` inside the handler's
    ``await request.body()``; the app turns it into a 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await send_json(send, 400, "invalid Content-Length header.")
                return
            if int(length) > self.max_bytes:
                await send_json(send, 413, self.message())
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.message())
            return message

        await self.app(scope, limited, send)

    def message(self) -> str:
        return (
            f"request body is larger than the server's limit of {self.max_bytes:,} bytes; "
            "send fewer rows per request (or restart the server with a larger --max-body-mb)."
        )


class BearerAuth:
    """Require ``Authorization: Bearer <token>`` on every path except ``public``."""

    def __init__(self, app: ASGIApp, token: str, public: frozenset[str]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.public:
            given = _header(scope, b"authorization") or b""
            if not secrets.compare_digest(given, self.expected):
                await send_json(
                    send,
                    401,
                    "missing or wrong bearer token; send 'Authorization: Bearer <token>'.",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        await self.app(scope, receive, send)
