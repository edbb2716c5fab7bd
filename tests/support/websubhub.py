"""A loopback WebSub hub (W3C WebSub 5-7) for tests: takes subscription requests on a LoopbackServer,
verifies the subscriber's intent over HTTP after answering 202, and pushes signed content."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode
from xml.sax.saxutils import escape

from django.utils import timezone

from tests.support.http import LoopbackServer, Request, Response


@dataclass
class Subscriber:
    topic: str
    callback: str
    secret: str
    verified: bool = False


class LoopbackHub:
    def __init__(self, server: LoopbackServer, *, path: str = "/hub", lease_seconds: int = 7200) -> None:
        self.server, self.path, self.lease_seconds = server, path, lease_seconds
        self.subscribers: dict[str, Subscriber] = {}  # by callback
        self.verifications: list[tuple[str, int, bool]] = []  # (callback, status, challenge echoed)
        self.done = threading.Event()
        server.route(path, self._request)

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def _request(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if request.method != "POST" or form.get("hub.mode") != "subscribe" or not form.get("hub.callback"):
            return Response(400, b"hub.mode=subscribe and hub.callback required")
        sub = Subscriber(topic=form["hub.topic"], callback=form["hub.callback"], secret=form.get("hub.secret", ""))
        self.subscribers[sub.callback] = sub
        # WebSub 5.3: the hub answers 202 and verifies the intent afterwards.
        threading.Thread(target=self._verify, args=(sub,), daemon=True).start()
        return Response(202, b"")

    def _get(self, callback: str, params: dict[str, str]) -> tuple[int, bytes]:
        url = callback + ("&" if "?" in callback else "?") + urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    def _verify(self, sub: Subscriber) -> None:
        challenge = secrets.token_urlsafe(16)
        status, body = self._get(
            sub.callback,
            {"hub.mode": "subscribe", "hub.topic": sub.topic, "hub.challenge": challenge,
             "hub.lease_seconds": str(self.lease_seconds)},
        )  # fmt: skip
        sub.verified = 200 <= status < 300 and body == challenge.encode()
        self.verifications.append((sub.callback, status, sub.verified))
        self.done.set()

    def deny(self, sub: Subscriber, reason: str) -> int:
        """WebSub 5.2: the hub tells the subscriber its subscription was denied."""
        status, _ = self._get(sub.callback, {"hub.mode": "denied", "hub.topic": sub.topic, "hub.reason": reason})
        return status

    def push(self, sub: Subscriber, body: bytes, *, signature: str | None = None, method: str = "sha256") -> int:
        """Content distribution (WebSub 7): POST the feed, signed with the subscriber's secret unless told otherwise."""
        if signature is None:
            digest = hmac.new(sub.secret.encode(), body, getattr(hashlib, method)).hexdigest()
            signature = f"{method}={digest}"
        headers = {"Content-Type": "application/rss+xml", "Link": f'<{self.url}>; rel="hub", <{sub.topic}>; rel="self"'}
        if signature:
            headers["X-Hub-Signature"] = signature
        request = urllib.request.Request(sub.callback, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code


def hub_feed(items: list[str], *, hub: str = "", self_url: str = "") -> bytes:
    """An RSS document with ``items`` (titles) that names its hub and itself as WebSub discovery asks."""
    links = (f'<atom:link rel="hub" href="{hub}"/>' if hub else "") + (
        f'<atom:link rel="self" href="{self_url}"/>' if self_url else ""
    )
    entries = "".join(
        f"<item><title>{escape(t)}</title><guid>g-{escape(t)}</guid><link>https://outlet.example/{n}</link>"
        f"<pubDate>{timezone.now():%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
        for n, t in enumerate(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>Outlet</title><link>https://outlet.example/</link><description>d</description>{links}"
        f"{entries}</channel></rss>"
    ).encode()
