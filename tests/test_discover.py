"""Feed autodiscovery against loopback sites."""

from __future__ import annotations

import pytest

from newsdesk.ingest.discover import DiscoveryFailed, alternate_links, feeds_discover
from tests.support.http import rss

FEED = rss([{"title": "Hello", "guid": "1", "link": "https://example.org/1"}], title="Site feed")


def _page(head: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head><title>Site</title>{head}</head><body><p>Hi</p></body></html>".encode()


def test_link_rel_alternate_is_followed(feed_server):
    feed_server.static(
        "/",
        _page('<link rel="alternate" type="application/rss+xml" title="Main" href="/news/rss.xml">'),
        content_type="text/html; charset=utf-8",
    )
    feed_server.static("/news/rss.xml", FEED)
    found = feeds_discover(url=feed_server.url("/"))
    assert [(f.url, f.title) for f in found] == [(feed_server.url("/news/rss.xml"), "Main")]


def test_links_that_are_not_feeds_are_dropped(feed_server):
    feed_server.static(
        "/",
        _page(
            '<link rel="alternate" type="application/atom+xml" href="/broken.xml">'
            '<link rel="alternate" type="application/rss+xml" href="http://127.0.0.1:1/x">'
            '<link rel="stylesheet" href="/style.css">'
            '<link rel="alternate" type="application/rss+xml" href="/good.xml">'
        ),
        content_type="text/html",
    )
    feed_server.static("/broken.xml", _page(), content_type="text/html")
    feed_server.static("/good.xml", FEED)
    assert [f.url for f in feeds_discover(url=feed_server.url("/"))] == [feed_server.url("/good.xml")]


@pytest.mark.parametrize("path", ["/feed", "/rss.xml", "/atom.xml", "/index.xml"])
def test_common_paths_are_tried_when_the_page_has_no_links(feed_server, path):
    feed_server.static("/blog/", _page(), content_type="text/html")
    feed_server.static(path, FEED)
    assert [f.url for f in feeds_discover(url=feed_server.url("/blog/"))] == [feed_server.url(path)]


def test_a_feed_url_is_returned_as_it_is(feed_server):
    feed_server.static("/feed.xml", FEED)
    found = feeds_discover(url=feed_server.url("/feed.xml"))
    assert [(f.url, f.title) for f in found] == [(feed_server.url("/feed.xml"), "Site feed")]


def test_no_feed_anywhere_says_what_was_tried(feed_server):
    feed_server.static("/", _page(), content_type="text/html")
    with pytest.raises(DiscoveryFailed, match="no <link rel=alternate>"):
        feeds_discover(url=feed_server.url("/"))
    # Every common path was tried.
    assert all(feed_server.hits(p) == 1 for p in ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"))


def test_alternate_links_resolve_relative_and_refuse_other_schemes():
    html = _page(
        '<link rel="alternate" type="application/rss+xml" href="rss.xml">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="Alternate" type="application/feed+json" href="//cdn.example.org/feed.json">'
    )
    assert [u for u, _ in alternate_links(html=html, base_url="https://example.org/blog/")] == [
        "https://example.org/blog/rss.xml",
        "https://cdn.example.org/feed.json",
    ]
