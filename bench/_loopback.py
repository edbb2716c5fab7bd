"""The loopback feed server the polling and pipeline benches poll, in a process of its own.

A minimal asyncio HTTP/1.1 responder: one request per connection (the
fetcher sends ``Connection: close``), GET or HEAD, ``If-None-Match``. The
standard library's http.server spent more CPU per request than the poll it
served, on the same two cores, so the benches answer from raw request heads.

A bench writes only ``answer(head) -> response bytes`` (which feed, which
version, which ETag) and builds the response with :func:`ok` and
:func:`not_modified`; :class:`FeedServer` runs it in its own process, so its
CPU is not the bench's, and tells the base URL once the port is bound.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class Request:
    method: bytes
    feed: int  # the number in the last path segment: /feeds/12.xml -> 12
    if_none_match: bytes  # b"" when not sent


def request(head: bytes) -> Request:
    """The request line and If-None-Match of ``head``; ValueError when the target names no feed number."""
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ", 2)
    feed = int(target.rsplit(b"/", 1)[-1].split(b".")[0])
    if_none_match = b""
    for line in lines[1:]:
        if line[:14].lower() == b"if-none-match:":
            if_none_match = line[14:].strip()
    return Request(method, feed, if_none_match)


def not_modified(etag: bytes) -> bytes:
    return b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def ok(body: bytes, etag: bytes, *, method: bytes = b"GET") -> bytes:
    """200 with an RSS body (no ETag header when ``etag`` is empty; the body only for GET)."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
        + (b"ETag: " + etag + b"\r\n" if etag else b"")
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
    )
    return head + (body if method == b"GET" else b"")


def serve(answer: Callable[[bytes], bytes], port_queue: Any) -> None:
    """Answer every connection with ``answer(request head)`` on a free loopback port (put on ``port_queue``) until SIGTERM."""
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(answer(head))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


class FeedServer:
    """``target(port_queue, *args)`` (which ends in :func:`serve`) in a daemon process, started now."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        self._ports: multiprocessing.Queue = multiprocessing.Queue()
        self._base_url = ""
        self.process = multiprocessing.Process(target=target, args=(self._ports, *args), daemon=True)
        self.process.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def base_url(self, timeout: float = 10) -> str:
        """``http://127.0.0.1:PORT`` once the server has bound its port."""
        if not self._base_url:
            self._base_url = f"http://127.0.0.1:{self._ports.get(timeout=timeout)}"
        return self._base_url

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=5)
