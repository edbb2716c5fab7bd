"""The socket layer under :mod:`newsdesk.ingest.fetch`: every read and write bounded.

- :class:`Clock`: the time left for one request; every socket operation asks it
  for a timeout, so a server dripping a byte every few seconds is cut off at
  the deadline;
- :class:`PinnedConnection`: an HTTP(S) connection to an address the SSRF guard
  already checked (never to a name), checking the peer it reached again;
- :class:`Inflater`: Content-Encoding decoded incrementally within a byte cap,
  so gzip bombs cannot exhaust memory.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
import zlib
from functools import lru_cache

from . import netguard

# Reads of a response body, in bytes.
CHUNK = 64 * 1024


class FetchError(Exception):
    """The fetch failed before a usable HTTP response arrived.

    ``kind`` is one of: scheme, bad_url, ssrf, dns, connect, timeout,
    deadline, too_large, redirects, protocol, tls, network. ``transient``
    says whether trying again later may help.
    """

    def __init__(self, message: str, *, kind: str = "network", transient: bool = True) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


class DeadlineExceeded(Exception):
    pass


class Clock:
    """Time left for one fetch; every socket operation asks it for a timeout."""

    __slots__ = ("deadline", "read_timeout")

    def __init__(self, *, deadline: float, read_timeout: float) -> None:
        self.deadline = deadline
        self.read_timeout = read_timeout

    def budget(self, cap: float | None = None) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded
        return min(self.read_timeout if cap is None else cap, remaining)


class SocketReader(io.RawIOBase):
    """Raw reader whose every recv is bounded by the read timeout and the deadline."""

    def __init__(self, owner: GuardedSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        sock = self._owner.sock
        sock.settimeout(self._owner.clock.budget())
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._owner.release()


class GuardedSocket:
    """What http.client sees as its socket: reads and writes go through the clock.

    Like socket.makefile, an open reader keeps the socket open after
    close(): http.client closes the connection as soon as it has the
    headers of a "Connection: close" response, then reads the body.
    """

    def __init__(self, sock: socket.socket, clock: Clock) -> None:
        self.sock = sock
        self.clock = clock
        self._readers = 0
        self._closing = False

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(SocketReader(self), buffer_size=CHUNK)

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.clock.budget())
        self.sock.sendall(data)

    def release(self) -> None:
        self._readers -= 1
        if self._closing and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closing = True
        if self._readers <= 0:
            self.sock.close()


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to an address we already checked, never to a name."""

    def __init__(
        self, *, family: int, ip: str, port: int, tls_hostname: str | None, clock: Clock, connect_timeout: float
    ) -> None:
        super().__init__(ip, port, timeout=connect_timeout)
        self._family = family
        self._ip = ip
        self._tls_hostname = tls_hostname
        self._clock = clock
        self._connect_timeout = connect_timeout
        self.connected_ip = ""

    def connect(self) -> None:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._clock.budget(self._connect_timeout))
            sock.connect((self._ip, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = str(sock.getpeername()[0])
            # Check the address the kernel actually connected to.
            netguard.address_check(peer)
            if self._tls_hostname is not None:
                sock.settimeout(self._clock.budget())
                sock = tls_context().wrap_socket(sock, server_hostname=self._tls_hostname)
        except BaseException:
            sock.close()
            raise
        self.connected_ip = peer
        self.sock = GuardedSocket(sock, self._clock)  # type: ignore[assignment]


class Inflater:
    """Decodes Content-Encoding incrementally, never producing more than ``cap`` bytes."""

    def __init__(self, *, encoding: str, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.kind = ""
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self.kind = encoding.removeprefix("x-")
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", kind="protocol", transient=False)
        self._inflater: zlib._Decompress | None = None
        self._done = False

    def _append(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            what = "after decompression " if self.kind else ""
            raise FetchError(f"body exceeds {self.cap} bytes {what}(cap)", kind="too_large", transient=False)
        if data:
            self.parts.append(data)

    def _new_inflater(self, first: bytes) -> zlib._Decompress:
        if self.kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped; some servers send raw deflate.
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and ((first[0] << 8) | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> None:
        if not self.kind:
            self._append(data)
            return
        try:
            while data and not self._done:
                if self._inflater is None:
                    self._inflater = self._new_inflater(data)
                inflater = self._inflater
                # max_length bounds each step, so a bomb never expands past the cap.
                self._append(inflater.decompress(data, self.cap - self.size + 1))
                data = inflater.unconsumed_tail
                if inflater.eof:
                    rest = inflater.unused_data
                    if self.kind == "gzip" and rest.lstrip(b"\x00"):
                        self._inflater = None  # another gzip member follows
                        data = rest.lstrip(b"\x00")
                    else:
                        self._done = True
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.kind} body: {exc}", kind="protocol", transient=False) from exc

    def body(self) -> bytes:
        if self._inflater is not None and not self._done:
            try:
                self._append(self._inflater.flush())
            except zlib.error as exc:
                raise FetchError(f"corrupt {self.kind} body: {exc}", kind="protocol", transient=False) from exc
        return b"".join(self.parts)
