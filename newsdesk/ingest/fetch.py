"""Fetching feed URLs over HTTP(S).

Foundation version: a plain requests GET with timeouts and conditional
headers. The polling-engine issue hardens it (SSRF guard, byte caps,
deadline, redirect checks) behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from django.conf import settings

USER_AGENT = "Newsdesk/1.0 (+self-hosted news desk; feed fetcher)"


class FetchError(Exception):
    """The fetch failed before a usable HTTP response arrived."""

    def __init__(self, message: str, *, kind: str = "network", transient: bool = True) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    permanent_redirect_url: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch_url(*, url: str, etag: str = "", last_modified: str = "") -> FetchResult:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = (settings.NEWSDESK_FETCH_CONNECT_TIMEOUT, settings.NEWSDESK_FETCH_READ_TIMEOUT)
    try:
        response = requests.get(url, headers=headers, timeout=timeout, allow_redirects=True)
    except requests.RequestException as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from exc
    return FetchResult(
        url=url,
        final_url=response.url,
        status=response.status_code,
        body=response.content[: settings.NEWSDESK_FETCH_MAX_BYTES],
        headers={k.lower(): v for k, v in response.headers.items()},
    )
