"""The fast RSS 2.0 reader (newsdesk/ingest/fastfeed.py) gives the articles feedparser gives.

parse_feed(fast=False) is the feedparser way; each case checks that the fast reader did
answer (or, for what it must not model, that it declined) and that both ways agree field
by field, down to every ParsedItem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.ingest.fastfeed import fast_feed
from newsdesk.ingest.parse import FeedRejected, parse_feed

FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "feeds"
NAMESPACES = (
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
)


def _rss(
    items: str, *, channel: str = "<title>Feed</title><link>https://outlet.example/</link>", head: str = ""
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"{NAMESPACES}>'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


def _both(body: bytes, *, fast: bool = True, headers: dict[str, str] | None = None, base_url: str = ""):
    """The parsed feed, after checking the two ways agree and whether the fast reader answered."""
    headers = headers or {}
    lowered = {k.lower(): v for k, v in headers.items()}
    assert (fast_feed(body=body, headers=lowered) is not None) is fast
    quick = parse_feed(body=body, headers=headers, base_url=base_url)
    slow = parse_feed(body=body, headers=headers, base_url=base_url, fast=False)
    assert quick.items == slow.items
    assert quick == slow
    return quick


def test_entities_cdata_and_html_in_titles_come_out_as_feedparser_gives_them():
    feed = _both(
        _rss(
            "<item><title>Minerals &amp;amp; &lt;b&gt;markets&lt;/b&gt; &#8217;26 &#x80;</title>"
            "<link>https://outlet.example/a/1?x=1&amp;y=2</link><guid>g-1</guid>"
            "<description><![CDATA[<p>The <b>lead</b> &amp; more</p>]]></description></item>"
            "<item><title><![CDATA[<em>Cdata</em> title]]></title><guid>g-2</guid>"
            "<description>&lt;p&gt;Escaped &amp;amp; HTML&lt;/p&gt;</description></item>"
        )
    )
    first, second = feed.items
    assert first.title == "Minerals & markets \u201926 \u20ac"  # &#x80; read as Windows-1252, as feedparser does
    assert first.url == "https://outlet.example/a/1?x=1&y=2"
    assert first.summary == "The lead & more"
    assert second.title == "Cdata title" and second.summary == "Escaped & HTML"


def test_relative_links_resolve_against_the_feed_url_and_a_guid_stands_in_for_a_missing_link():
    feed = _both(
        _rss(
            "<item><title>Relative</title><link>/news/1</link><guid isPermaLink='false'>k-1</guid></item>"
            "<item><title>Permalink guid</title><guid>https://outlet.example/news/2</guid></item>"
            "<item><title>Not a link</title><guid isPermaLink='false'>k-3</guid></item>"
        ),
        base_url="https://outlet.example/feeds/all.xml",
    )
    assert [i.url for i in feed.items] == ["https://outlet.example/news/1", "https://outlet.example/news/2", ""]
    assert [i.dedupe_key for i in feed.items] == ["k-1", "https://outlet.example/news/2", "k-3"]


def test_missing_and_odd_dates():
    feed = _both(
        _rss(
            "<item><title>No date</title><guid>a</guid></item>"
            "<item><title>RFC 822</title><guid>b</guid><pubDate>Mon, 09 Feb 2026 11:00:00 +0100</pubDate></item>"
            "<item><title>Junk</title><guid>c</guid><pubDate>soon</pubDate></item>"
            "<item><title>dc:date</title><guid>d</guid><dc:date>2026-02-09T11:00:00Z</dc:date></item>"
        )
    )
    assert feed.items[0].published_at is None and feed.items[2].published_at is None
    assert feed.items[1].published_at.isoformat() == "2026-02-09T10:00:00+00:00"
    assert feed.items[3].updated_at is not None and feed.items[3].published_at is None


def test_content_author_categories_and_media():
    feed = _both(
        _rss(
            "<item><title>Full</title><guid>f</guid>"
            "<content:encoded><![CDATA[<p onclick='x()'>Body <a href='/rel'>link</a><script>bad()</script></p>]]>"
            "</content:encoded><dc:creator>Ana P\u00e9rez</dc:creator>"
            "<category domain='https://outlet.example/tags'>Economy</category><category>Second</category>"
            "<enclosure url='https://cdn.example/a.mp3' type='Audio/MPEG' length='1'/>"
            "<media:content url='https://cdn.example/b.jpg' medium='image'><media:credit>AP</media:credit>"
            "</media:content><comments>https://outlet.example/c</comments></item>"
            "<item><title>Thumb</title><guid>t</guid><description>d</description>"
            "<media:thumbnail>https://cdn.example/t.jpg</media:thumbnail><author>ed@outlet.example (Ed)</author></item>"
        ),
        base_url="https://outlet.example/feed",
    )
    full, thumb = feed.items
    assert full.summary == "Body link"  # feedparser copies content to a missing summary
    assert 'href="https://outlet.example/rel"' in full.content and "bad()" not in full.content
    assert (full.author, full.category, full.image_url) == ("Ana P\u00e9rez", "Economy", "https://cdn.example/b.jpg")
    assert (full.enclosure_url, full.enclosure_type) == ("https://cdn.example/a.mp3", "audio/mpeg")
    assert (thumb.image_url, thumb.author) == ("https://cdn.example/t.jpg", "ed@outlet.example (Ed)")


def test_latin1_read_utf8_is_repaired_and_feed_fields_agree():
    feed = _both(
        _rss(
            "<item><title>Caf\u00c3\u00a9</title><guid>m</guid></item>",
            channel="<title>Feed &amp; co</title><link>https://outlet.example/?a=1&amp;b=2</link>"
            "<description>&lt;i&gt;About&lt;/i&gt;</description><language>es-MX</language><ttl>30</ttl>"
            "<image><url>https://outlet.example/logo.png</url><title>Logo</title><link>https://outlet.example/</link></image>"
            "<atom:link rel='self' href='https://outlet.example/feed' type='application/rss+xml'/>"
            "<atom:link rel='hub' href='https://hub.example/'/>",
        ),
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )
    assert feed.items[0].title == "Caf\u00e9"
    assert (feed.title, feed.language, feed.ttl_seconds, feed.description) == ("Feed & co", "es", 1800, "About")
    assert feed.image_url == "https://outlet.example/logo.png" and feed.format == "rss20"
    assert (feed.self_url, feed.hub_url) == ("https://outlet.example/feed", "https://hub.example/")


def test_mediarss_and_item_links_follow_feedparsers_precedence():
    """A media title never beats the item's own title, a second description becomes content, an
    alternate atom:link replaces the link, and MediaRSS keywords and categories become tags."""
    feed = _both(
        _rss(
            "<item><media:title>Media first</media:title><title>Own title</title><guid>a</guid>"
            "<description>Lead</description><media:description type='plain'>a &lt;b&gt; c</media:description>"
            "<atom:link rel='alternate' href='https://outlet.example/alt'/><link>https://outlet.example/l</link>"
            "<media:keywords>one, two,,three</media:keywords></item>"
            "<item><guid>b</guid><media:group><media:content url='https://cdn.example/g.jpg' medium='image'>"
            "<media:title type='html'>&lt;b&gt;Group&lt;/b&gt; title</media:title>"
            "<media:description>Group lead</media:description></media:content></media:group>"
            "<atom:link rel='alternate' href='/rel-alt' type='text/html'/><dc:subject>Politics</dc:subject></item>"
            "<item><title>Cat</title><guid>c</guid><media:category scheme='urn:x'>World</media:category>"
            "<description>Plain</description><media:content url='https://cdn.example/v.mp4' type='video/mp4'>"
            "<media:thumbnail url='https://cdn.example/v.jpg'/></media:content>"
            "<atom:link rel='enclosure' href='https://cdn.example/e.mp3' type='audio/mpeg'/></item>"
            "<item><title></title><title type='html'>Second &lt;i&gt;title&lt;/i&gt;</title><title>Third</title>"
            "<guid>d</guid><author>A</author><dc:creator>B</dc:creator></item>"
        ),
        base_url="https://outlet.example/feed",
    )
    first, second, third, fourth = feed.items
    assert (fourth.title, fourth.author) == ("Second title", "B")  # the first non-empty title; the last author
    assert (first.title, first.summary, first.url) == ("Own title", "Lead", "https://outlet.example/l")
    assert first.content == "a &lt;b&gt; c" and first.category == "one"
    assert (second.title, second.summary) == ("Group title", "Group lead")
    assert (second.url, second.image_url, second.category) == (
        "https://outlet.example/rel-alt",
        "https://cdn.example/g.jpg",
        "Politics",
    )
    assert (third.category, third.image_url, third.enclosure_url) == (
        "World",
        "https://cdn.example/v.jpg",
        "https://cdn.example/e.mp3",
    )


def test_other_encodings_are_decoded_by_feedparsers_own_detection():
    latin1 = _rss("<item><title>Caf\u00e9 \u00f1and\u00fa</title><guid>l</guid></item>").replace(
        b"utf-8", b"iso-8859-1"
    )
    latin1 = latin1.decode().encode("iso-8859-1")
    assert _both(latin1).items[0].title == "Caf\u00e9 \u00f1and\u00fa"
    utf16 = _rss("<item><title>\u65b0\u95fb</title><guid>u</guid></item>").replace(b"utf-8", b"utf-16")
    assert _both(utf16.decode().encode("utf-16")).items[0].title == "\u65b0\u95fb"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (_rss("<item><title>A</title><source url='https://x.example/'>X</source></item>"), {}),  # not modelled
        (_rss("<item><title>A</title><itunes:summary>B</itunes:summary></item>"), {}),  # not modelled
        (_rss("<item><title>A <b>bold</b></title></item>"), {}),  # unescaped markup
        (_rss("<item><title type='xhtml'>A</title></item>"), {}),  # a type it does not model
        (_rss("<item xml:base='https://elsewhere.example/'><title>A</title><link>x</link></item>"), {}),
        (_rss("<item><title>A</title></item>", head='<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x">'), {}),
        (_rss("<item><title>A</title></item>", channel="<atom:link href='https://a.example/'/>"), {}),  # a feed link
        (
            _rss("<item xml:base='https://b.example/'><title>A</title><link>x</link></item>")
            .replace(b"utf-8", b"utf-16")
            .decode()
            .encode("utf-16"),
            {},
        ),
        (_rss("<item><title>A</title></item>"), {"Content-Type": "text/html"}),  # feedparser flags it: bozo
        (_rss("<item><title>A</title></item>"), {"Content-Location": "https://outlet.example/x/"}),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title></entry></feed>', {}),
        (b'<rss version="0.91"><channel><item><title>A</title></item></channel></rss>', {}),
        (_rss("<item><title>A &nbsp; B</title></item>"), {}),  # not well-formed XML: feedparser's loose parser
    ],
)
def test_what_it_does_not_model_goes_to_feedparser_with_the_same_result(body, headers):
    _both(body, fast=False, headers=headers)


def test_a_bug_in_the_fast_reader_is_logged_and_feedparser_reads_the_feed(monkeypatch, caplog):
    from newsdesk.ingest import fastfeed

    def broken(*args, **kwargs):
        raise KeyError("a case nobody modelled")

    monkeypatch.setattr(fastfeed, "_channel", broken)
    body = _rss("<item><title>Still read</title><guid>s</guid></item>")
    assert fast_feed(body=body, headers={}) is None
    assert [i.title for i in parse_feed(body=body, headers={}).items] == ["Still read"]
    assert "event=fast_feed_failed" in caplog.text


def test_hostile_documents_are_still_refused_before_any_parser():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>'
    )
    with pytest.raises(FeedRejected, match="ENTITY"):
        parse_feed(body=bomb, headers={})
    # Called directly, the reader declines any DTD rather than let expat read it.
    assert fast_feed(body=bomb, headers={}) is None
    external = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss version="2.0"><channel/></rss>'
    assert fast_feed(body=external, headers={}) is None


@pytest.mark.slow  # reads the whole feed corpus
@pytest.mark.skipif(not FEEDS.is_dir(), reason="../shared/corpora/feeds is not present beside the repo")
def test_the_feed_corpus_gives_the_same_articles_both_ways():
    """check_corpus's files, each parsed both ways: the same ParsedFeed, item by item and field by
    field, or the same refusal; and the fast reader answered for a good share of them."""
    from newsdesk.management.commands.check_corpus import corpus_files

    fast = 0
    files = corpus_files(roots=[FEEDS])
    for path in files:
        body = path.read_bytes()
        outcomes = []
        for way in (True, False):
            try:
                outcomes.append(parse_feed(body=body, headers={}, fast=way))
            except FeedRejected as exc:
                outcomes.append(str(exc))
        quick, slow = outcomes
        if not isinstance(slow, str):
            assert not isinstance(quick, str), path
            for mine, theirs in zip(quick.items, slow.items, strict=True):
                assert mine == theirs, path
        assert quick == slow, path
        fast += fast_feed(body=body, headers={}) is not None
    assert len(files) > 2000 and fast >= 290, (len(files), fast)


@pytest.mark.parametrize(
    "value",
    [
        "plain ascii \x00 with NUL\x0b and DEL\x7f",
        "Caf\u00e9 \x85 C1 \ufdd0 \ufffe lone \ud800 surrogate",
        "emoji \U0001f600 kept, plane non-characters \U0001fffe\U0010ffff\U0005ffff dropped",
        "\U0001fffe",
    ],
)
def test_text_clean_drops_exactly_the_characters_of_its_full_class(value):
    """The quicker text_clean (BMP class, then the planes only when their UTF-8 bytes show up) removes
    what the one full character class removes, and nothing else."""
    from newsdesk.ingest import sanitize

    assert sanitize.text_clean(value) == sanitize._BAD_CHARS_RE.sub("", value)
    assert sanitize.plain_text(f"  {value}\n\t x ") == " ".join(sanitize._BAD_CHARS_RE.sub("", f"{value} x").split())
