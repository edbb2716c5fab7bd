"""Fetching feed URLs over HTTP(S): the one place Newsdesk reads a URL.

Every feed server is untrusted, so each fetch is bounded in every direction:

- only ``http`` and ``https``; user names and passwords in a URL are dropped,
  and no cookie, credential or app header is ever sent;
- every host is resolved once, every address checked by the SSRF guard
  (netguard.py), and the connection made to that checked address itself,
  so DNS rebinding cannot pass; TLS still verifies the certificate against
  the host name (SNI);
- connect and read timeouts per socket operation, plus an overall
  wall-clock deadline checked before every read, so a server dripping a
  byte every few seconds is cut off;
- the body is streamed and the cap applies to *decompressed* bytes, so gzip
  bombs and lying Content-Length headers cannot exhaust memory;
- at most five redirects, each hop checked again; a permanent redirect
  (301/308) at the start of the chain is reported so the poller can update
  the source's URL.

Built on http.client rather than requests/urllib3 because the guard needs
to own the socket: to connect to a pinned address, to check the peer
address, and to bound each read by the time left (transport.py).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from django.conf import settings

from newsdesk.httpheaders import max_age_seconds, retry_after_seconds
from newsdesk.perprocess import PerProcess

from . import netguard
from .transport import (
    CHUNK,
    Clock,
    DeadlineExceeded,
    FetchError,
    Inflater,
    PinnedConnection,
)

USER_AGENT = "Newsdesk/1.0 (+self-hosted news desk; feed fetcher)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
# Characters that may stand unescaped in a request target; anything else
# (spaces, non-ASCII) is percent-encoded, existing escapes are kept.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_HOST_RE = re.compile(r"^[A-Za-z0-9._\-]+$|^[0-9A-Fa-f:.]+$")
# Validators we echo back come from a server: only visible ASCII is sent.
_HEADER_VALUE_RE = re.compile(r"^[\x20-\x7e]*$")
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Target of the permanent redirects (301/308) the chain started with, if any.
    permanent_redirect_url: str = ""
    # From Retry-After (seconds or HTTP-date), for 429/503 and friends.
    retry_after_seconds: float | None = None
    # From Cache-Control max-age.
    max_age_seconds: int | None = None
    # The address the final response came from (already passed the guard).
    connected_ip: str = ""
    redirects: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _result(
    *,
    url: str,
    visited: list[str],
    response: tuple[int, dict[str, str], bytes, str],
    started: float,
    permanent_url: str = "",
) -> FetchResult:
    """The last hop's ``response`` (from :func:`_request`) as a FetchResult.

    ``visited``: every URL requested, the asked one first; Retry-After and
    Cache-Control max-age are read here, and the time taken since ``started``.
    """
    status, headers, body, connected_ip = response
    return FetchResult(
        url=url,
        final_url=visited[-1],
        status=status,
        body=body,
        headers=headers,
        permanent_redirect_url=permanent_url,
        retry_after_seconds=retry_after_seconds(headers.get("retry-after")),
        max_age_seconds=max_age_seconds(headers.get("cache-control")),
        connected_ip=connected_ip,
        redirects=visited[1:],
        elapsed_ms=(time.monotonic() - started) * 1000,
    )


def url_for_fetch(url: str) -> str:
    """The URL we would request: scheme checked, user info and fragment dropped,
    host IDNA-encoded. Raises FetchError for anything we will not fetch."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            shown = scheme or "(none)"
            raise FetchError(
                f"scheme {shown!r} refused: only http and https are fetched", kind="scheme", transient=False
            )
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL: {exc}", kind="bad_url", transient=False) from exc
    if not host:
        raise FetchError("invalid URL: no host", kind="bad_url", transient=False)
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise FetchError(f"invalid host name {host!r}", kind="bad_url", transient=False) from exc
    if not _HOST_RE.match(host):
        raise FetchError(f"invalid host name {host!r}", kind="bad_url", transient=False)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


# getaddrinfo runs on these threads; one pool per process (a forked child builds its own).
_resolver_pool: PerProcess[ThreadPoolExecutor] = PerProcess(
    lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="newsdesk-dns")
)


def _resolve_within(host: str, port: int, clock: Clock) -> list[tuple[int, str]]:
    """getaddrinfo cannot be given a timeout; run it on a helper thread so a
    slow resolver still counts against the fetch's deadline."""
    future = _resolver_pool.get().submit(netguard.host_resolve, host, port)
    try:
        return future.result(timeout=clock.budget(float(settings.NEWSDESK_FETCH_CONNECT_TIMEOUT)))
    except FutureTimeout:
        future.cancel()
        raise FetchError(f"cannot resolve {host!r}: resolver timed out", kind="dns") from None


def _candidates(host: str, port: int, clock: Clock) -> list[tuple[int, str]]:
    """Addresses for ``host``, every one of them checked by the guard."""
    netguard.host_check(host)
    try:
        literal: netguard.IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]
    else:
        try:
            found = _resolve_within(host, port, clock)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host!r}: {exc}", kind="dns") from exc
        if not found:
            raise FetchError(f"cannot resolve {host!r}: no addresses", kind="dns")
    # One refused address refuses the host: a name that mixes public and
    # private answers is how rebinding attacks are staged.
    for _family, address in found:
        netguard.address_check(address)
    return found


def _header_map(response: http.client.HTTPResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in response.getheaders():
        key = key.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _request(
    *,
    url: str,
    request_headers: dict[str, str],
    clock: Clock,
    connect_timeout: float,
    max_bytes: int,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes, str]:
    """One hop: (status, headers, body, connected ip). Redirect and 304 bodies are not read."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    candidates = _candidates(host, port, clock)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc, **request_headers}
    last_error: OSError | None = None
    response: http.client.HTTPResponse | None = None
    for family, address in candidates:
        conn = PinnedConnection(
            family=family,
            ip=address,
            port=port,
            tls_hostname=host if https else None,
            clock=clock,
            connect_timeout=connect_timeout,
        )
        try:
            try:
                conn.connect()
            except (ConnectionError, TimeoutError) as exc:
                last_error = exc  # try the host's next address
                continue
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            response_headers = _header_map(response)
            status = response.status
            if status == 304 or (status in REDIRECT_STATUSES and "location" in response_headers):
                return status, response_headers, b"", conn.connected_ip
            declared = response_headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"body of {declared} bytes exceeds the {max_bytes} byte cap", kind="too_large", transient=False
                )
            inflater = Inflater(encoding=response_headers.get("content-encoding", ""), cap=max_bytes)
            raw = 0
            while True:
                chunk = response.read1(CHUNK)
                if not chunk:
                    break
                raw += len(chunk)
                if raw > max_bytes:
                    raise FetchError(f"body exceeds {max_bytes} bytes (cap)", kind="too_large", transient=False)
                inflater.feed(chunk)
            if response.length:  # Content-Length promised more than arrived
                raise http.client.IncompleteRead(b"", response.length)
            return status, response_headers, inflater.body(), conn.connected_ip
        finally:
            if response is not None:
                response.close()
            conn.close()
    assert last_error is not None
    raise last_error


# What can go wrong before a usable response, besides a FetchError of our own.
_FAILURES = (netguard.AddressRefused, DeadlineExceeded, OSError, http.client.HTTPException, ValueError)


def _fetch_error(exc: Exception, *, url: str, clock: Clock, deadline_seconds: float) -> FetchError:
    """The FetchError a failure of a GET or a POST to ``url`` stands for (one of :data:`_FAILURES`)."""
    if isinstance(exc, netguard.AddressRefused):
        return FetchError(f"{url}: {exc}", kind="ssrf", transient=False)
    deadline = FetchError(f"{url}: overall deadline of {deadline_seconds:g}s exceeded", kind="deadline")
    if isinstance(exc, DeadlineExceeded):
        return deadline
    if isinstance(exc, TimeoutError):
        # The last wait may have been cut short by the deadline rather than the read timeout.
        return (
            deadline
            if time.monotonic() >= clock.deadline - 0.05
            else FetchError(f"{url}: timed out ({exc or 'no answer'})", kind="timeout")
        )
    if isinstance(exc, ConnectionRefusedError):
        return FetchError(f"{url}: connection refused", kind="connect")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"{url}: TLS failed: {exc}", kind="tls")
    if isinstance(exc, http.client.IncompleteRead):
        return FetchError(f"{url}: body ended early ({exc.expected} more bytes were announced)", kind="protocol")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(f"{url}: bad HTTP response: {type(exc).__name__}: {exc}", kind="protocol")
    if isinstance(exc, OSError):
        return FetchError(f"{url}: {type(exc).__name__}: {exc}", kind="network")
    # http.client refusing a value a server sent us.
    return FetchError(f"{url}: {type(exc).__name__}: {exc}", kind="protocol", transient=False)


def post_url(*, url: str, body: bytes, headers: dict[str, str], max_bytes: int = 1024 * 1024) -> FetchResult:
    """POST ``body`` to ``url`` under the same guard and bounds as :func:`fetch_url`.

    For outgoing pushes (webhooks, WebSub): one hop, redirects are not
    followed (a 3xx is returned as it is), and at most ``max_bytes`` of the
    answer are read. Failures before a response raise FetchError.
    """
    started = time.monotonic()
    deadline_seconds = float(settings.NEWSDESK_FETCH_DEADLINE)
    clock = Clock(deadline=started + deadline_seconds, read_timeout=float(settings.NEWSDESK_FETCH_READ_TIMEOUT))
    current = url_for_fetch(url)
    request_headers = {"User-Agent": USER_AGENT, "Connection": "close", **headers}
    try:
        response = _request(
            url=current,
            request_headers=request_headers,
            clock=clock,
            connect_timeout=float(settings.NEWSDESK_FETCH_CONNECT_TIMEOUT),
            max_bytes=max_bytes,
            method="POST",
            body=body,
        )
    except FetchError:
        raise
    except _FAILURES as exc:
        raise _fetch_error(exc, url=current, clock=clock, deadline_seconds=deadline_seconds) from exc
    return _result(url=url, visited=[current], response=response, started=started)


def url_guard_check(*, url: str) -> str:
    """The URL as it would be requested, after resolving its host and checking every address.

    Raises FetchError (kind ``ssrf``, ``bad_url``, ``scheme`` or ``dns``) with
    a message fit for the person who typed it. For forms that take a push URL.
    """
    current = url_for_fetch(url)
    parts = urlsplit(current)
    clock = Clock(deadline=time.monotonic() + float(settings.NEWSDESK_FETCH_CONNECT_TIMEOUT), read_timeout=1.0)
    try:
        _candidates(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), clock)
    except netguard.AddressRefused as exc:
        raise FetchError(f"{exc}", kind="ssrf", transient=False) from exc
    except DeadlineExceeded as exc:
        raise FetchError(f"cannot resolve {parts.hostname!r}: timed out", kind="dns") from exc
    return current


def fetch_url(*, url: str, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET ``url`` within every bound described in the module docstring.

    Any HTTP response (including 304, 4xx and 5xx) is returned; failures
    before a usable response raise FetchError.
    """
    started = time.monotonic()
    deadline_seconds = float(settings.NEWSDESK_FETCH_DEADLINE)
    clock = Clock(deadline=started + deadline_seconds, read_timeout=float(settings.NEWSDESK_FETCH_READ_TIMEOUT))
    connect_timeout = float(settings.NEWSDESK_FETCH_CONNECT_TIMEOUT)
    max_bytes = int(settings.NEWSDESK_FETCH_MAX_BYTES)
    # Built from scratch for every fetch: no cookie jar, no auth, no app headers.
    request_headers = {
        "User-Agent": USER_AGENT,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
        "Connection": "close",
    }
    if etag and _HEADER_VALUE_RE.match(etag):
        request_headers["If-None-Match"] = etag
    if last_modified and _HEADER_VALUE_RE.match(last_modified):
        request_headers["If-Modified-Since"] = last_modified

    current = url_for_fetch(url)
    visited = [current]
    permanent_url = ""
    still_permanent = True
    try:
        for hop in range(MAX_REDIRECTS + 1):
            response = _request(
                url=current,
                request_headers=request_headers,
                clock=clock,
                connect_timeout=connect_timeout,
                max_bytes=max_bytes,
            )
            status, headers, _, _ = response
            if status in REDIRECT_STATUSES and "location" in headers:
                if hop == MAX_REDIRECTS:
                    raise FetchError(
                        f"too many redirects (more than {MAX_REDIRECTS})", kind="redirects", transient=False
                    )
                target = url_for_fetch(urljoin(current, headers["location"].strip()))
                if target in visited:
                    raise FetchError(f"redirect loop back to {target}", kind="redirects", transient=False)
                if still_permanent and status in PERMANENT_REDIRECT_STATUSES:
                    permanent_url = target
                else:
                    still_permanent = False
                visited.append(target)
                current = target
                continue
            return _result(url=url, visited=visited, response=response, started=started, permanent_url=permanent_url)
    except FetchError:
        raise
    except _FAILURES as exc:
        raise _fetch_error(exc, url=current, clock=clock, deadline_seconds=deadline_seconds) from exc
    raise AssertionError("unreachable")  # pragma: no cover
