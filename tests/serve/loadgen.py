"""A minimal asyncio HTTP/1.1 keep-alive client for load tests and benchmarks.

Lighter than a full client library, so on a small machine the measurement is mostly the server.
Each worker owns one connection and reconnects when the server closes it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Request", "Response", "run_requests"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    content_type: str | None = "application/json"
    declared_length: int | None = None  # send this Content-Length but only ``body`` (413 tests)
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Response:
    status: int
    body: bytes
    latency_s: float
    headers: dict[str, str] = field(default_factory=dict)


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: Request) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        length = request.declared_length
        if length is None:
            length = len(request.body)
        lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}"]
        if request.method != "GET" or request.body:
            lines.append(f"Content-Length: {length}")
        if request.content_type is not None and request.method != "GET":
            lines.append(f"Content-Type: {request.content_type}")
        lines += [f"{k}: {v}" for k, v in request.headers]
        start = time.perf_counter()
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + request.body)
        await self.writer.drain()
        response = await self._read(start)
        if request.declared_length is not None or response.headers.get("connection") == "close":
            self.close()
        return response

    async def _read(self, start: float) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Response(int(status_line.split()[1]), body, time.perf_counter() - start, headers)


async def _worker(url: str, queue: asyncio.Queue, out: list[Response | None]) -> None:
    parts = urlsplit(url)
    connection = _Connection(parts.hostname or "127.0.0.1", parts.port or 80)
    try:
        while True:
            try:
                index, request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                out[index] = await connection.send(request)
            except (ConnectionError, asyncio.IncompleteReadError):
                connection.close()  # the server closed on us: retry once on a new connection
                out[index] = await connection.send(request)
    finally:
        connection.close()


async def _run(url: str, requests: list[Request], concurrency: int) -> list[Response | None]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in enumerate(requests):
        queue.put_nowait(item)
    out: list[Response | None] = [None] * len(requests)
    await asyncio.gather(*(_worker(url, queue, out) for _ in range(concurrency)))
    return out


def run_requests(
    url: str, requests: list[Request], concurrency: int = 1
) -> tuple[list[Response | None], float]:
    """Send ``requests`` over ``concurrency`` connections; return responses and wall seconds."""
    start = time.perf_counter()
    responses = asyncio.run(_run(url, requests, concurrency))
    return responses, time.perf_counter() - start
