"""newsdesk.ingest.parse: normalising RSS, Atom and JSON Feed into ParsedItems."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from newsdesk.ingest.parse import MAX_SUMMARY, MAX_TITLE, FeedRejected, dedupe_key_for, parse_feed
from newsdesk.ingest.urls import url_canonical, url_safe
from tests.support.http import rss


def _rss(item_xml: str, *, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Feed</title><link>https://outlet.example/</link><description>d</description>{channel}"
        f"<item>{item_xml}</item></channel></rss>"
    ).encode()


def test_rss_item_is_normalised():
    body = _rss(
        "<title>Minerals &amp; markets</title>"
        "<link>https://outlet.example/a/1?utm_source=rss</link>"
        "<guid>outlet-1</guid>"
        "<description>&lt;p&gt;The &lt;b&gt;summary&lt;/b&gt;&amp;nbsp;here&lt;/p&gt;</description>"
        "<content:encoded><![CDATA[<p onclick='x()'>Body <a href='/rel'>link</a><script>alert(1)</script></p>]]></content:encoded>"
        "<pubDate>Mon, 09 Feb 2026 11:00:00 GMT</pubDate>"
        "<dc:creator>Ana Pérez</dc:creator><category>Economy</category>"
        '<enclosure url="https://cdn.example/a.mp3" type="audio/mpeg" length="1"/>'
        '<media:thumbnail url="https://cdn.example/a.jpg"/>',
        channel="<language>es-MX</language><ttl>30</ttl>",
    )
    feed = parse_feed(
        body=body, headers={"content-type": "application/rss+xml"}, base_url="https://outlet.example/feed"
    )
    assert (feed.title, feed.language, feed.ttl_seconds, feed.format, feed.bozo) == ("Feed", "es", 1800, "rss20", False)
    [item] = feed.items
    assert item.title == "Minerals & markets"
    assert item.summary == "The summary here"
    assert (
        item.content == '<p>Body <a href="https://outlet.example/rel" rel="noopener noreferrer nofollow">link</a></p>'
    )
    assert item.url == "https://outlet.example/a/1?utm_source=rss"
    assert item.guid == item.dedupe_key == "outlet-1"
    assert item.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)
    assert (item.author, item.category, item.language) == ("Ana Pérez", "Economy", "es")
    assert (item.enclosure_url, item.enclosure_type) == ("https://cdn.example/a.mp3", "audio/mpeg")
    assert item.image_url == "https://cdn.example/a.jpg"


def test_atom_entry_with_author_uri_and_xhtml_content():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <title>Atom</title><link href="https://zeitung.example/"/><id>urn:x</id><updated>2026-02-09T11:00:00Z</updated>
  <entry><title type="html">&lt;em&gt;Eilmeldung&lt;/em&gt;</title><id>urn:e1</id>
    <link href="https://zeitung.example/1"/><updated>2026-02-09T12:00:00+01:00</updated>
    <author><name>Max</name><uri>javascript:alert(1)</uri></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Text</p></div></content>
  </entry>
</feed>"""
    [item] = parse_feed(body=body).items
    assert item.title == "Eilmeldung"
    assert item.language == "de"
    assert item.author == "Max" and item.author_url == ""
    assert "<p>Text</p>" in item.content
    assert item.summary == "Text"
    assert item.updated_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)


def test_bozo_feed_keeps_its_entries_and_reason():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>One</title><guid>1</guid></item><item><title>Two & broken</title><guid>2</guid></item></channel></rss>'
    feed = parse_feed(body=body)
    assert feed.bozo
    assert feed.bozo_reason
    assert [i.title for i in feed.items] == ["One", "Two & broken"]


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
        b"\n\n<html lang='en'><body>hi</body></html>",
        b'<?xml version="1.0"?>\n<!-- c --><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    ],
)
def test_html_page_instead_of_a_feed_is_rejected_with_a_clear_reason(page):
    with pytest.raises(FeedRejected, match="HTML page"):
        parse_feed(body=page, headers={"content-type": "text/html; charset=utf-8"})


def test_other_non_feeds_are_rejected():
    for body in (b"", b"   \n", b"hello world", b"<root><a/></root>"):
        with pytest.raises(FeedRejected):
            parse_feed(body=body)


def test_json_feed_goes_through_the_same_normaliser():
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON outlet",
        "home_page_url": "https://json.example/",
        "language": "fr-FR",
        "authors": [{"name": "Rédaction", "url": "https://json.example/team"}],
        "items": [
            {
                "id": 42,
                "url": "https://json.example/a/42",
                "title": "Titre\u0000 propre",
                "content_html": "<p>Bonjour <a href='javascript:alert(1)'>x</a><img src='/i.png'></p>",
                "date_published": "2026-02-09T12:00:00+01:00",
                "tags": ["Politique"],
                "attachments": [{"url": "https://json.example/a.mp3", "mime_type": "audio/mpeg"}],
                "image": "data:image/png;base64,AAAA",
            },
            "not an item",
            {"id": "no-text"},
        ],
    }
    feed = parse_feed(body=json.dumps(document).encode(), base_url="https://json.example/feed.json")
    assert (feed.title, feed.language, feed.format) == ("JSON outlet", "fr", "json11")
    assert feed.entries_total == 3 and feed.entries_dropped == 2
    [item] = feed.items
    assert item.dedupe_key == "42"
    assert item.title == "Titre propre"
    assert (
        item.content
        == '<p>Bonjour <a rel="noopener noreferrer nofollow">x</a><img src="https://json.example/i.png"></p>'
    )
    assert item.summary == "Bonjour x"
    assert item.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)
    assert (item.author, item.author_url, item.category) == ("Rédaction", "https://json.example/team", "Politique")
    assert item.enclosure_url == "https://json.example/a.mp3"
    assert item.image_url == ""


def test_json_that_is_not_a_json_feed_is_rejected():
    for body in (b'{"hello": 1}', b"[1, 2]", b"{not json", b"[" * 100_000):
        with pytest.raises(FeedRejected):
            parse_feed(body=body)


def test_dedupe_key_order_guid_then_canonical_link_then_hash():
    assert dedupe_key_for(guid="g", link="https://a.example/x", title="t", published=None) == "g"
    assert (
        dedupe_key_for(
            guid="", link="https://A.example:443/x?id=3&utm_source=rss&fbclid=1#top", title="t", published=None
        )
        == "https://a.example/x?id=3"
    )
    hashed = dedupe_key_for(guid="", link="", title="t", published=datetime(2026, 2, 9, tzinfo=UTC))
    assert hashed.startswith("sha256:")
    assert hashed == dedupe_key_for(guid="", link="", title="t", published=datetime(2026, 2, 9, tzinfo=UTC))
    assert hashed != dedupe_key_for(guid="", link="", title="t2", published=datetime(2026, 2, 9, tzinfo=UTC))
    assert len(dedupe_key_for(guid="g" * 1000, link="", title="", published=None)) <= 255


def test_links_that_differ_only_in_tracking_parameters_share_a_key():
    one = parse_feed(body=rss([{"title": "a", "link": "https://o.example/a?utm_source=rss&utm_medium=feed"}]))
    two = parse_feed(body=rss([{"title": "a", "link": "https://o.example/a?gclid=xyz&mc_cid=1"}]))
    assert one.items[0].dedupe_key == two.items[0].dedupe_key == "https://o.example/a"
    assert url_canonical("https://o.example/a?page=2&utm_campaign=x") == "https://o.example/a?page=2"


def test_repeated_guid_within_a_feed_keeps_both_stories():
    feed = parse_feed(
        body=rss(
            [
                {"title": "First story", "guid": "same", "link": "https://o.example/1"},
                {"title": "Second story", "guid": "same", "link": "https://o.example/2"},
                {"title": "Second story", "guid": "same", "link": "https://o.example/2"},
            ]
        )
    )
    assert [i.title for i in feed.items] == ["First story", "Second story"]
    assert len({i.dedupe_key for i in feed.items}) == 2
    assert feed.entries_dropped == 1


def test_fields_and_items_are_capped(settings):
    settings.NEWSDESK_MAX_ITEMS_PER_POLL = 5
    items = [{"title": "T" * 5000, "guid": str(i), "description": "word " * 5000} for i in range(8)]
    feed = parse_feed(body=rss(items))
    assert len(feed.items) == 5
    assert feed.entries_total == 8 and feed.entries_dropped == 3
    assert all(len(i.title) <= MAX_TITLE and len(i.summary) <= MAX_SUMMARY for i in feed.items)


def test_items_without_title_or_text_are_dropped():
    feed = parse_feed(body=rss([{"link": "https://o.example/1"}, {"title": "kept"}]))
    assert [i.title for i in feed.items] == ["kept"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://o.example/a", "https://o.example/a"),
        ("mailto:desk@o.example", "mailto:desk@o.example"),
        ("javascript:alert(1)", ""),
        ("JaVaScRiPt:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        (" \x01javascript:alert(1)", ""),
        ("vbscript:msgbox", ""),
        ("data:text/html,<script>", ""),
        ("file:///etc/passwd", ""),
        ("ftp://o.example/x", ""),
        ("http:no-host", ""),
        ("/relative", "https://base.example/relative"),
        ("//other.example/x", "https://other.example/x"),
        ("https://o.example/" + "a" * 3000, ""),
    ],
)
def test_url_scheme_allowlist(value, expected):
    assert url_safe(value, base="https://base.example/feed") == expected


def test_every_url_field_passes_the_allowlist():
    body = _rss(
        "<title>x</title><link>javascript:alert(1)</link>"
        '<enclosure url="data:text/html,boom" type="text/html" length="1"/>'
        '<media:thumbnail url="vbscript:x"/>'
    )
    [item] = parse_feed(body=body).items
    assert (item.url, item.enclosure_url, item.image_url) == ("", "", "")


def test_feedparser_is_never_given_a_path(tmp_path):
    """A body that *is* a file path is parsed as those bytes, never opened."""
    secret = tmp_path / "feed.xml"
    secret.write_bytes(rss([{"title": "read from disk", "guid": "1"}]))
    with pytest.raises(FeedRejected):
        parse_feed(body=str(secret).encode())


def test_control_characters_and_non_characters_are_stripped_from_every_field():
    body = _rss(
        "<title>Nul\x00l and vt\x0b and &#xFFFE; and &#xD800;surrogate</title>"
        "<guid>g\x00uid</guid><description>sum&#1;mary &#xDFFF;</description>"
        "<dc:creator>Au\x00thor</dc:creator><category>Ca\x0bt</category>"
        "<content:encoded><![CDATA[<p>co\x00nt&#xD800;ent</p>]]></content:encoded>"
    ).replace(b"\x00", b"\x00")
    feed = parse_feed(body=body)
    [item] = feed.items
    for value in (item.title, item.guid, item.summary, item.content, item.author, item.category, item.dedupe_key):
        assert not any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff" for c in value), value
        value.encode("utf-8")  # would raise on a lone surrogate
    assert item.title == "Null and vt and and surrogate"
    assert item.content == "<p>content</p>"


def test_titles_lose_markup_but_keep_comparison_signs():
    feed = parse_feed(
        body=rss(
            [
                {"title": "<b>Bold</b> &amp; <i>brave</i>", "guid": "1"},
                {"title": "Inflation 5 < 6 > 4 forecast", "guid": "2"},
            ]
        )
    )
    assert [i.title for i in feed.items] == ["Bold & brave", "Inflation 5 < 6 > 4 forecast"]
