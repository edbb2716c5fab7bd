"""A loopback TCP server whose handler writes raw bytes: for HTTP faults that a
well-behaved server library will not produce (drips, lying Content-Length,
endless bodies, gzip bombs).

Each connection runs ``handler(conn, request_head)`` in a daemon thread. The
server stops accepting on exit and closes every open connection, so a
handler blocked on send returns with an error and no thread outlives the
test by more than a moment.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator

RawHandler = Callable[[socket.socket, bytes], None]


class RawServer:
    def __init__(self, handler: RawHandler, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.host = host
        self.tls = tls
        self.server_names: list[str | None] = []  # SNI names clients sent (TLS only)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.requests: list[bytes] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            with self._lock:
                self.requests.append(head)
            self.handler(conn, head)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def send(self, conn: socket.socket, data: bytes) -> None:
        """sendall that stops as soon as the server is shutting down."""
        if self._stop.is_set():
            raise ConnectionAbortedError("server stopping")
        conn.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()
        with self._lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)


def response_head(status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def zeros(total: int, *, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` zero bytes, generated a chunk at a time (never held in memory)."""
    block = bytes(chunk)
    remaining = total
    while remaining > 0:
        size = min(chunk, remaining)
        yield block if size == chunk else bytes(size)
        remaining -= size


def gzip_bomb(uncompressed: int) -> bytes:
    """A gzip stream of ``uncompressed`` zero bytes (about 1000:1), built incrementally."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(block) for block in zeros(uncompressed, chunk=1024 * 1024)]
    parts.append(compressor.flush())
    return b"".join(parts)


def drip(server: RawServer, conn: socket.socket, data: bytes, *, every: float, limit_seconds: float = 30) -> None:
    """Send ``data`` one byte per ``every`` seconds, giving up after ``limit_seconds``."""
    started = time.monotonic()
    for i in range(len(data)):
        if time.monotonic() - started > limit_seconds:
            return
        server.send(conn, data[i : i + 1])
        time.sleep(every)
