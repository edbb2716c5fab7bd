"""Feed autodiscovery: from a website's address to its feed URLs.

Admins often paste the outlet's home page rather than its feed. We look the
way browsers and readers do: the address itself may already be a feed; else
the page's ``<link rel="alternate" type="application/rss+xml" ...>`` tags;
else the common paths (/feed, /rss, /rss.xml, /atom.xml, /feed.xml,
/index.xml) at the site root. Every candidate is fetched with the guarded
fetcher and must parse as a feed before it is offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from .fetch import FetchError, FetchResult, fetch_url
from .parse import FeedRejected, parse_feed
from .urls import url_is_http

COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
# <link> tags live in <head>; a huge page need not be scanned to its end.
_HTML_SCAN_BYTES = 512 * 1024
# At most this many <link> candidates are fetched to check them.
MAX_LINK_CANDIDATES = 8


class DiscoveryFailed(Exception):
    """No feed could be found; the message says what was tried."""


@dataclass(frozen=True)
class DiscoveredFeed:
    url: str
    title: str = ""


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.links.append((values["href"].strip(), values.get("title", "").strip()))


def alternate_links(*, html: bytes, base_url: str, charset: str = "utf-8") -> list[tuple[str, str]]:
    """(absolute URL, title) of every feed ``<link rel="alternate">`` on a page."""
    try:
        text = html[:_HTML_SCAN_BYTES].decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = html[:_HTML_SCAN_BYTES].decode("utf-8", errors="replace")
    parser = _AlternateLinks()
    parser.feed(text)
    seen: set[str] = set()
    found = []
    for href, title in parser.links:
        absolute = urljoin(base_url, href)
        if url_is_http(absolute) and absolute not in seen:
            seen.add(absolute)
            found.append((absolute, title))
    return found


_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)


def looks_like_html(result: FetchResult) -> bool:
    content_type = result.headers.get("content-type", "").lower()
    return "html" in content_type or bool(_HTML_START.match(result.body[:2048]))


def _charset(result: FetchResult) -> str:
    match = re.search(r"charset=([\w.-]+)", result.headers.get("content-type", ""), re.I)
    return match.group(1) if match else "utf-8"


def _as_feed(result: FetchResult) -> DiscoveredFeed | None:
    """The response as a feed, if it is one."""
    if result.status != 200 or not result.body or looks_like_html(result):
        return None
    try:
        feed = parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
    except FeedRejected:
        return None
    if not feed.items and not feed.title:
        return None
    return DiscoveredFeed(url=result.final_url or result.url, title=feed.title)


def _try(url: str) -> DiscoveredFeed | None:
    try:
        return _as_feed(fetch_url(url=url, etag="", last_modified=""))
    except FetchError:
        return None


def feeds_discover(*, url: str) -> list[DiscoveredFeed]:
    """Feeds for ``url``, best first. Raises DiscoveryFailed (saying what
    was tried) when there are none; FetchError when ``url`` itself cannot be
    fetched."""
    page = fetch_url(url=url, etag="", last_modified="")
    if page.status != 200:
        raise DiscoveryFailed(f"{url} answered HTTP {page.status}")
    itself = _as_feed(page)
    if itself is not None:
        return [itself]
    base = page.final_url or url
    found: list[DiscoveredFeed] = []
    links = alternate_links(html=page.body, base_url=base, charset=_charset(page))
    for link, title in links[:MAX_LINK_CANDIDATES]:
        feed = _try(link)
        if feed is not None and feed.url not in {f.url for f in found}:
            found.append(DiscoveredFeed(url=feed.url, title=title or feed.title))
    if found:
        return found
    parts = urlsplit(base)
    for path in COMMON_PATHS:
        feed = _try(urlunsplit((parts.scheme, parts.netloc, path, "", "")))
        if feed is not None:
            return [feed]
    raise DiscoveryFailed(
        f"no feed at {url}: it is not a feed itself, "
        + (f"none of its {len(links)} feed link(s) parsed, " if links else "it has no <link rel=alternate> feed, ")
        + f"and none of {', '.join(COMMON_PATHS)} answered with a feed"
    )
