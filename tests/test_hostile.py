"""Hostile input through the ingest path: XML attacks, bodies that are paths or
endless zeros, broken characters, and XSS payloads that must never reach a page."""

from __future__ import annotations

import html
import multiprocessing
import re
import time
from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree
from lxml import html as lxml_html

from newsdesk.ingest.fetch import FetchError, fetch_url
from newsdesk.ingest.parse import FeedRejected, parse_feed
from newsdesk.ingest.store import article_upsert
from newsdesk.models import Article, Source
from tests.support.http import rss
from tests.support.rawhttp import RawServer, response_head

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
HOSTILE = SHARED / "corpora" / "hostile"
ENTITY_DECLARATION = re.compile(r"<!ENTITY\s+%?\s*(\w+)")


def _hostile_files() -> list[Path]:
    if not HOSTILE.is_dir():
        return []
    return sorted(p for p in HOSTILE.iterdir() if p.is_file())


needs_hostile = pytest.mark.skipif(
    not HOSTILE.is_dir(), reason="../shared/corpora/hostile is not present beside the repo"
)


def _parse_bounded(body: bytes, *, seconds: float = 5.0) -> str:
    """Run parse_feed in a forked child, so a regression that hangs or eats
    memory fails this test instead of the test run. Returns the outcome text."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()

    def run() -> None:
        try:
            feed = parse_feed(body=body)
            child.send(f"parsed items={len(feed.items)} " + " ".join(i.title + i.summary for i in feed.items))
        except FeedRejected as exc:
            child.send(f"rejected {exc}")
        except BaseException as exc:
            child.send(f"crashed {type(exc).__name__}: {exc}")

    process = context.Process(target=run, daemon=True)
    process.start()
    try:
        if not parent.poll(seconds):
            pytest.fail(f"parse_feed did not finish within {seconds}s")
        return parent.recv()
    finally:
        process.kill()
        process.join(5)


def _wrap_as_feed(text: str) -> bytes:
    """The file's DOCTYPE (if any) in front of an RSS feed whose item uses its
    entities, with the whole file as the item's description."""
    doctype = ""
    match = re.search(r"<!DOCTYPE.*?(\]\s*>|>)", text, re.DOTALL)
    if match:
        doctype = match.group(0)
    references = "".join(f"&{name};" for name in ENTITY_DECLARATION.findall(text))
    cdata = text.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n<rss version="2.0"><channel><title>wrapped</title>'
        f"<item><title>item {references}</title><guid>1</guid><description><![CDATA[{cdata}]]></description></item>"
        "</channel></rss>"
    ).encode()


# --- The shared hostile corpus ------------------------------------------------------------


@needs_hostile
@pytest.mark.parametrize("path", _hostile_files(), ids=lambda p: p.name)
def test_hostile_file_as_a_body(path):
    """Each file is refused (entities) or parsed harmlessly, quickly, in bounded memory."""
    text = path.read_text(errors="replace")
    started = time.monotonic()
    outcome = _parse_bounded(path.read_bytes())
    assert time.monotonic() - started < 5
    assert not outcome.startswith("crashed"), outcome
    if "<!ENTITY" in text:
        assert outcome.startswith("rejected") and "ENTITY" in outcome, outcome


@needs_hostile
@pytest.mark.parametrize("path", _hostile_files(), ids=lambda p: p.name)
def test_hostile_file_wrapped_as_a_feed_and_served(path, feed_server):
    """Served on loopback and fetched like a poll: entity documents are refused;
    the others parse with the file as plain text, nothing expanded or fetched."""
    text = path.read_text(errors="replace")
    feed_server.static("/wrapped.xml", _wrap_as_feed(text))
    result = fetch_url(url=feed_server.url("/wrapped.xml"))
    if ENTITY_DECLARATION.search(text):
        with pytest.raises(FeedRejected, match="ENTITY"):
            parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
        return
    feed = parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
    [item] = feed.items
    assert item.title == "item"
    assert len(item.summary) <= len(text)
    assert "<" not in item.summary  # plain text: the XSL/XSD markup is gone


def test_utf16_entity_declaration_is_refused():
    bomb = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>'
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        with pytest.raises(FeedRejected, match="ENTITY"):
            parse_feed(body=bomb.encode(encoding))


def test_100kb_entity_referenced_5000_times_is_refused_fast():
    """Quadratic blow-up: 100 KB x 5,000 = 500 MB if expanded."""
    big = "B" * 100_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]><rss version="2.0"><channel><title>q</title>'
        f"<item><title>x</title><description>{'&a;' * 5000}</description></item></channel></rss>"
    ).encode()
    started = time.monotonic()
    outcome = _parse_bounded(body)
    assert outcome.startswith("rejected") and "ENTITY" in outcome, outcome
    assert time.monotonic() - started < 3


def test_external_entity_pointing_at_a_local_file_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>'
    ).encode()
    with pytest.raises(FeedRejected) as caught:
        parse_feed(body=body)
    assert "TOP-SECRET-TOKEN" not in str(caught.value)


# --- Bodies that are paths or endless -------------------------------------------------------


@pytest.mark.parametrize("path", [b"/dev/zero", b"/etc/passwd", b"/proc/self/environ"])
def test_body_that_is_a_file_path_is_not_opened(path):
    """feedparser opens a path it is given; /dev/zero would never end."""
    outcome = _parse_bounded(path, seconds=5)
    assert outcome.startswith("rejected"), outcome
    assert "root:" not in outcome


def test_body_of_dev_zero_bytes_is_read_only_up_to_the_cap_and_rejected(settings):
    """A server that streams /dev/zero: the fetch stops at the cap; zero bytes are no feed."""
    settings.NEWSDESK_FETCH_MAX_BYTES = 2 * 1024 * 1024

    def handler(conn, head):
        server.send(conn, response_head(headers={"Content-Type": "application/rss+xml"}))
        with open("/dev/zero", "rb") as zero:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                server.send(conn, zero.read(65536))

    with RawServer(handler) as server:
        with pytest.raises(FetchError) as caught:
            fetch_url(url=server.url("/zero.xml"))
        assert caught.value.kind == "too_large"
    outcome = _parse_bounded(bytes(1024 * 1024))
    assert outcome.startswith("rejected"), outcome


def test_nul_bytes_and_lone_surrogates_in_titles_through_the_fetch_path(feed_server, db):
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Nul\x00 in &#xD800;title&#55296;</title><guid>1</guid><description>d\x00e</description></item>"
        b"</channel></rss>"
    )
    feed_server.static("/nul.xml", body)
    result = fetch_url(url=feed_server.url("/nul.xml"))
    [item] = parse_feed(body=result.body, headers=result.headers).items
    assert item.title == "Nul in title"
    assert item.summary == "de"
    source = Source.objects.create(name="Nul outlet", url=feed_server.url("/nul.xml"))
    article_upsert(source=source, item=item)  # PostgreSQL refuses NUL: this must store
    assert Article.objects.get(source=source).title_orig == "Nul in title"


def test_html_page_served_instead_of_a_feed_is_rejected_with_a_clear_reason(feed_server):
    page = b"<!DOCTYPE html><html><head><title>Outlet</title></head><body><h1>News</h1></body></html>"
    feed_server.static("/feed", page, content_type="text/html; charset=utf-8")
    result = fetch_url(url=feed_server.url("/feed"))
    assert result.status == 200
    with pytest.raises(FeedRejected, match="HTML page, not a feed"):
        parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)


# --- XSS ---------------------------------------------------------------------------------------

XSS_ITEMS = [
    {
        "title": "Plain javascript link",
        "guid": "x1",
        "link": "javascript:alert(document.cookie)",
        "description": '<a href="javascript:alert(1)">click</a>',
    },
    {
        "title": "SVG xlink",
        "guid": "x2",
        "link": "https://outlet.example/svg",
        "description": '<svg><a xlink:href="javascript:alert(2)"><text x="20" y="20">svg click</text></a></svg>',
    },
    {
        "title": "Tab inside the scheme",
        "guid": "x3",
        "link": "java\tscript:alert(3)",
        "description": '<a href="java&#x09;script:alert(3)">tabbed</a><img src="jav&#x0A;ascript:alert(4)">',
    },
    {
        "title": "<script>alert(5)</script>Scripted title",
        "guid": "x4",
        "link": " javascript:alert(6)",
        "description": '<p onmouseover="alert(7)">hover</p><iframe src="javascript:alert(8)"></iframe>',
    },
]


def _content_feed() -> bytes:
    """The same payloads inside content:encoded, which keeps HTML."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel><title>xss</title><link>https://outlet.example/</link><description>d</description>",
    ]
    for item in XSS_ITEMS:
        parts.append(
            f"<item><title>{html.escape(item['title'])}</title><guid>{item['guid']}</guid>"
            f"<link>{html.escape(item['link'])}</link>"
            f"<content:encoded><![CDATA[{item['description']}]]></content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _assert_no_script_urls(text: str) -> None:
    flat = re.sub(r"[\s\x00-\x1f]", "", html.unescape(text)).lower()
    assert "javascript:" not in flat, text
    assert "alert(" not in flat or "<script" not in flat


@pytest.mark.parametrize("body", [rss(XSS_ITEMS), _content_feed()], ids=["description", "content"])
def test_script_urls_never_survive_parse_feed(body):
    feed = parse_feed(body=body, base_url="https://outlet.example/feed.xml")
    assert len(feed.items) == len(XSS_ITEMS)
    for item in feed.items:
        assert item.url in ("", "https://outlet.example/svg")
        for value in (item.url, item.content, item.enclosure_url, item.image_url, item.author_url):
            _assert_no_script_urls(value)
        assert "<script" not in item.content and "onmouseover" not in item.content and "<iframe" not in item.content
        assert "alert(5)" not in item.title
    assert feed.items[3].title == "Scripted title"


@pytest.mark.django_db
def test_stored_hostile_items_render_without_payloads(client):
    """Through store and templates: the dashboard and our RSS show no live payload."""
    source = Source.objects.create(name="Hostile outlet", url="https://outlet.example/feed.xml", language="en")
    for body in (rss(XSS_ITEMS), _content_feed()):
        for item in parse_feed(body=body, base_url="https://outlet.example/feed.xml").items:
            item.dedupe_key += "-" + str(len(body))
            article_upsert(source=source, item=item)
    assert Article.objects.filter(source=source).count() == 2 * len(XSS_ITEMS)

    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.content)
    assert "Scripted title" in doc.text_content()
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("iframe", "svg") and not (
            element.tag == "script" and "alert" in (element.text or "")
        )
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            if name in ("href", "src", "action", "xlink:href"):
                _assert_no_script_urls(value)

    feed_response = client.get("/feeds/rss/")
    assert feed_response.status_code == 200
    channel = etree.fromstring(feed_response.content)
    for link in channel.xpath("//item/link/text()"):
        _assert_no_script_urls(link)
    assert "javascript:" not in feed_response.content.decode().lower()


@pytest.mark.parametrize("encoding", ["utf-7", "cp500", "cp1140", "utf-16-be", "utf-32"])
def test_entity_declaration_in_any_encoding_the_parser_accepts_is_refused(encoding):
    """UTF-7 can spell "<!" as "+ADwAIQ-"; EBCDIC uses other bytes: the check
    runs on the text the parser will see, not only on the raw bytes."""
    declaration = "+ADwAIQ-ENTITY" if encoding == "utf-7" else "<!ENTITY"
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE r [{declaration} a "EXPANDED">]>'
        '<rss version="2.0"><channel><item><title>&a;</title></item></channel></rss>'
    )
    body = text.encode("ascii") if encoding == "utf-7" else text.encode(encoding)
    assert b"<!ENTITY" not in body
    with pytest.raises(FeedRejected, match="ENTITY"):
        parse_feed(body=body)
