"""Feeds of dashboard views: RSS 2.0, Atom, JSON Feed; validators; hostile content."""

from __future__ import annotations

import json
from datetime import timedelta

import feedparser
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from lxml import etree, html

from newsdesk.changes import articles_changed
from newsdesk.models import Article
from newsdesk.web.feeds import NAMESPACE, xml_text
from tests.support.articles import make_article, make_source, make_story

pytestmark = pytest.mark.django_db

HOSTILE = [
    "ctrl \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x1f end",
    "nonchar \ufffe \uffff end",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "]]><![CDATA[ & &amp; &#0; &#xFFFE; <!-- -->",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
    "RTL \u202e override, emoji 🇲🇽 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
FORMATS = ["feed-rss", "feed-atom"]


def _strict(content: bytes) -> etree._Element:
    return etree.fromstring(content, parser=etree.XMLParser(recover=False, resolve_entities=False))


def test_xml_text_strips_what_xml_forbids():
    assert xml_text("a\x00b\x1fc\ufffed\uffffe\ud800f\tg\nh") == "abcdef\tg\nh"


@pytest.mark.parametrize("name", FORMATS)
def test_feed_carries_english_text_and_original_fields(client, name):
    source = make_source(name="El Financiero", country="MX", language="es")
    article = make_article(source=source, story=make_story(sources=3), category="Economía")
    response = client.get(reverse(name))
    assert response.status_code == 200
    root = _strict(response.content)
    ns = {"nd": NAMESPACE}
    assert root.xpath("//nd:original_title/text()", namespaces=ns) == [article.title_orig]
    assert root.xpath("//nd:original_language/text()", namespaces=ns) == ["es"]
    assert root.xpath("//nd:country/text()", namespaces=ns) == ["MX"]
    assert root.xpath("//nd:country_name/text()", namespaces=ns) == ["Mexico"]
    assert root.xpath("//nd:outlet/text()", namespaces=ns) == ["El Financiero"]
    assert root.xpath("//nd:coverage/text()", namespaces=ns) == ["3"]
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title == article.title_en
    assert "securing critical minerals" in entry.summary
    assert entry.link == article.url
    terms = {t.term for t in entry.tags}
    assert {"El Financiero", "Mexico", "lang:es", "Economía"} <= terms


def test_json_feed(client):
    source = make_source(name="El Financiero", country="MX", language="es")
    article = make_article(source=source, story=make_story(sources=2))
    response = client.get(reverse("feed-json"), {"country": "MX"})
    assert response.headers["Content-Type"].startswith("application/feed+json")
    data = json.loads(response.content)
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["feed_url"].endswith("/feeds/json/?country=MX")
    item = data["items"][0]
    assert item["title"] == article.title_en
    assert item["content_text"] == article.summary_en
    assert item["authors"] == [{"name": "El Financiero"}]
    assert item["_newsdesk"]["original_title"] == article.title_orig
    assert item["_newsdesk"]["original_language"] == "es"
    assert item["_newsdesk"]["country_name"] == "Mexico"
    assert item["_newsdesk"]["coverage"] == 2


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_feed_lists_exactly_what_the_dashboard_shows(client, settings, name):
    """Same filter code: for several views, the feed's items are the page's cards, in order."""
    settings.NEWSDESK_PAGE_SIZE = settings.NEWSDESK_FEED_SIZE = 5
    mx, fr = make_source(country="MX", language="es"), make_source(country="FR", language="fr")
    for i in range(6):
        make_article(source=mx, minutes_ago=i, story=make_story(sources=i + 1))
        make_article(source=fr, minutes_ago=i, title_en=f"Lithium story {i}", story=make_story(sources=6 - i))
    for query in ({}, {"country": "FR"}, {"q": "lithium"}, {"q": "-lithium", "sort": "covered"}, {"coverage": "4"}):
        page = html.fromstring(client.get(reverse("dashboard"), query).content.decode())
        cards = [int(c.get("data-article")) for c in page.find_class("card")]
        feed = client.get(reverse(name), query).content
        if name == "feed-json":
            guids = [item["id"] for item in json.loads(feed)["items"]]
        else:
            guids = [e.id for e in feedparser.parse(feed).entries]
        assert guids == [f"newsdesk-article-{i}" for i in cards], query
        assert cards, query


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_hostile_content_stays_well_formed(client, name):
    hostile = HOSTILE
    if connection.vendor == "postgresql":  # PostgreSQL cannot store NUL; the other controls remain
        hostile = [text.replace("\x00", "") for text in HOSTILE]
    for i, text in enumerate(hostile):
        source = make_source(name=f"Outlet {text}", country="MX")
        make_article(
            source=source,
            title_en=f"Title {text}",
            summary_en=f"Summary {text}",
            title_orig=f"Orig {text}",
            category=text[:100],
            url=f"https://example.org/{i}?q=<&>\x01",
            minutes_ago=i,
        )
    response = client.get(reverse(name))
    assert response.status_code == 200
    if name == "feed-json":
        data = json.loads(response.content)
        assert len(data["items"]) == len(HOSTILE)
        assert all("\x00" not in item["title"] for item in data["items"])
        return
    _strict(response.content)
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == len(HOSTILE)
    for entry, text in zip(parsed.entries, hostile, strict=True):
        # Descriptions are HTML to readers: ours must hold no live markup.
        summary = html.fragment_fromstring(entry.summary, create_parent="div")
        assert not summary.xpath("//script | //img | //*[@onerror]")
        assert summary.text_content().startswith("Summary ")
        if "<" not in text and "&" not in text:
            assert entry.title == "Title " + xml_text(text)


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_conditional_get(client, name):
    source = make_source()
    article = make_article(source=source)
    Article.objects.update(updated_at=timezone.now() - timedelta(minutes=1))  # a Last-Modified of a past second
    first = client.get(reverse(name), {"country": "MX"})
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert "max-age=" in first.headers["Cache-Control"]
    again = client.get(reverse(name), {"country": "MX"}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    since = client.get(reverse(name), {"country": "MX"}, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    # Another view of the same data has its own validator.
    other = client.get(reverse(name), {"country": "MX", "sort": "covered"}, headers={"If-None-Match": etag})
    assert other.status_code == 200
    # A translation update changes the item, so the validator changes.
    article.title_en = "Updated headline"
    article.save()
    changed = client.get(reverse(name), {"country": "MX"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert b"Updated headline" in changed.content


def test_not_modified_costs_no_query(client, django_assert_num_queries):
    make_article(source=make_source())
    etag = client.get(reverse("feed-rss")).headers["ETag"]
    with django_assert_num_queries(0):  # the validator memo (tests/test_feeds_validators.py)
        assert client.get(reverse("feed-rss"), headers={"If-None-Match": etag}).status_code == 304
    with django_assert_num_queries(1):  # a sure 200: the items, validators taken from them
        assert client.get(reverse("feed-rss")).status_code == 200
    with django_assert_num_queries(1):  # a validator the memo knows is stale: a sure 200 again
        assert client.get(reverse("feed-rss"), headers={"If-None-Match": '"old"'}).status_code == 200
    articles_changed()  # the memo no longer vouches for anything
    with django_assert_num_queries(2):  # (id, updated_at) first, may be a 304; then the items by id
        assert client.get(reverse("feed-rss"), headers={"If-None-Match": '"old"'}).status_code == 200


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
@pytest.mark.parametrize(
    ("params", "expected"), [({}, 5), ({"country": "MX"}, 4), ({"sort": "covered"}, 4), ({"coverage": "2"}, 3)]
)
def test_both_ways_to_a_200_give_the_same_feed(client, name, params, expected):
    source = make_source()
    for minutes in range(4):
        make_article(source=source, story=make_story(sources=minutes + 1), minutes_ago=minutes)
    make_article(source=make_source(country="FR", language="fr"), minutes_ago=9)
    plain = client.get(reverse(name), params)
    revalidated = client.get(reverse(name), params, headers={"If-None-Match": '"stale"'})
    assert plain.status_code == revalidated.status_code == 200
    assert plain.content == revalidated.content
    assert plain.headers["ETag"] == revalidated.headers["ETag"]
    assert plain.content.count(b"newsdesk-article-") == expected


def test_feed_of_empty_view_is_valid(client):
    response = client.get(reverse("feed-atom"), {"q": "nothing-matches-this"})
    assert response.status_code == 200
    assert feedparser.parse(response.content).bozo == 0


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_feeds_ignore_nasty_parameters(client, name):
    make_article(source=make_source())
    for value in ("\x00", "\ufffe", "<x>", "'", "9" * 50, "2026-02-31"):
        for param in ("q", "country", "lang", "source", "from", "coverage", "sort", "category"):
            response = client.get(reverse(name), {param: value})
            assert response.status_code in (200, 400), (param, value)
            if name != "feed-json" and response.status_code == 200:
                _strict(response.content)


@pytest.mark.parametrize("pair", ["rss", "atom"])
def test_fast_writer_matches_djangos(pair):
    """The lean writer produces exactly what Django's SAX writer does for the same feed."""
    import io
    import re
    from datetime import UTC, datetime

    from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

    from newsdesk.web.feeds import NewsdeskAtom, NewsdeskRss

    fast_cls, slow_cls = (NewsdeskRss, Rss201rev2Feed) if pair == "rss" else (NewsdeskAtom, Atom1Feed)
    outputs = []
    for write in (fast_cls.write, slow_cls.write):
        feed = fast_cls(
            title="T & <x>", link="http://x/?a=1&b=2", description='d "q"', feed_url="http://x/f?a&b", language="en"
        )
        feed.add_item(
            title="A <b>&", link="http://x/1?a&b", description="&lt;p&gt;", unique_id="g1", unique_id_is_permalink=False,
            pubdate=datetime(2026, 2, 9, 11, tzinfo=UTC), updateddate=datetime(2026, 2, 9, 12, tzinfo=UTC),
            author_name='O\'x "y"', categories=["c1", "c&2"], outlet="El País", country="ES",
        )  # fmt: skip
        # Items the direct item writer handles with empty or missing parts, and markup (characters
        # XML cannot carry are tested through whole feeds: Django's writer refuses them; and a '"' in
        # an attribute, which Django's writer single-quotes and ours writes as &quot;)...
        feed.add_item(title="", link="http://x/2", description="", unique_id="", categories=[], coverage=0)
        feed.add_item(
            title="]]> \"q\" \t\n 🇲🇽", link="http://x/3?q=\"", description=None, unique_id="g3",
            unique_id_is_permalink=True, author_name="", categories=["a'b", "<c>"], original_title="<t>&amp;",
        )  # fmt: skip
        feed.add_item(title="t4", link="http://x/4", description="d", pubdate=datetime(2026, 2, 9, tzinfo=UTC))
        # ...and ones it leaves to the generic path (an author e-mail, an enclosure, comments).
        feed.add_item(title="t5", link="http://x/5", description="d", author_email="a@x", author_name="A", comments="c")
        buffer = io.StringIO()
        write(feed, buffer, "utf-8")
        outputs.append(re.sub(r"<lastBuildDate>[^<]*</lastBuildDate>", "", buffer.getvalue()))
    assert outputs[0] == outputs[1]
    assert "<nd:outlet>El País</nd:outlet>" in outputs[0]


def _declared_rows(count: int) -> list:
    """FeedItem rows built from the declaration alone: each field cycles through awkward values of its type."""
    import itertools
    import typing
    from datetime import UTC, datetime

    from newsdesk.web.feeds.items import FeedItem

    palettes = {
        str: ["", "Plain", "É <b>&amp;</b> \"q\" 'a' ]]> \t\n", "🇲🇽 RTL \u202e 𝔘", "MX", "es"],
        int: [1, 7, 42],
        datetime: [datetime(2026, 2, 9, 11, tzinfo=UTC), datetime(2026, 2, 9, 12, 30, 5, 123456, tzinfo=UTC)],
    }
    columns = []
    for n, hint in enumerate(typing.get_type_hints(FeedItem).values()):
        types = typing.get_args(hint) or (hint,)
        values = palettes[types[0]] + ([None] if type(None) in types else [])
        columns.append(itertools.islice(itertools.cycle(values), n, None))  # offset: fields vary apart
    rows = [FeedItem(*(next(column) for column in columns)) for _ in range(count)]
    return [row._replace(id=n + 1) for n, row in enumerate(rows)]


@pytest.mark.parametrize("pair", ["rss", "atom", "json"])
def test_items_built_from_the_declaration_match_djangos_generator(rf, settings, pair):
    """Every declared field and extra, through ArticleFeed's item loop, written by our
    generator and by Django's stock writer: the same bytes, each extra where it belongs."""
    import io
    import re

    from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

    from newsdesk.web.feeds import ArticleFeed, JsonFeedGenerator, NewsdeskAtom, NewsdeskRss
    from newsdesk.web.feeds.items import EXTRA_FIELDS, EXTRAS, item_extra_kwargs

    settings.NEWSDESK_FEED_ITEM_CACHE = 0
    rows = _declared_rows(24)
    fast_cls = {"rss": NewsdeskRss, "atom": NewsdeskAtom, "json": JsonFeedGenerator}[pair]
    feed = fast_cls(title="T", link="http://x/", description="d", feed_url="http://x/f", language="en")
    ArticleFeed().add_items(feed, rows, rf.get("/feeds/"))
    assert len(feed.items) == len(rows)
    expected = [{k: v for k, v in item_extra_kwargs(row).items() if k in EXTRA_FIELDS} for row in rows]
    assert {e.name for e in EXTRAS} <= set(feed.items[0]), "the loop passes every declared extra on"
    buffer = io.StringIO()
    feed.write(buffer, "utf-8")
    ours = buffer.getvalue()
    if pair == "json":
        data = json.loads(ours)
        assert json.dumps(data, ensure_ascii=False) == ours
        for item, row, extras in zip(data["items"], rows, expected, strict=True):
            assert item["_newsdesk"] == {k: v for k, v in extras.items() if v not in (None, "")}
            assert item["content_text"] == xml_text(row.display_summary)
            assert item["id"] == f"newsdesk-article-{row.id}"
        return
    buffer = io.StringIO()
    (Rss201rev2Feed if pair == "rss" else Atom1Feed).write(feed, buffer, "utf-8")  # Django's SAX writer
    strip_build_date = re.compile(r"<lastBuildDate>[^<]*</lastBuildDate>")
    assert strip_build_date.sub("", ours) == strip_build_date.sub("", buffer.getvalue())
    root = _strict(ours.encode())
    entries = root.xpath("//item | //*[local-name()='entry']")
    assert len(entries) == len(rows)
    for entry, extras in zip(entries, expected, strict=True):
        written = {el.tag.split("}")[1]: el.text for el in entry if el.tag.startswith(f"{{{NAMESPACE}}}")}
        assert written == {k: str(v) for k, v in extras.items() if v not in (None, "")}
        assert list(written) == [k for k in EXTRA_FIELDS if k in written], "in declaration order"


@pytest.mark.parametrize("name", ["feed-rss", "feed-atom", "feed-json", "story-rss"])
def test_our_item_loop_gives_what_djangos_gives(client, monkeypatch, name):
    from django.contrib.syndication.views import Feed

    from newsdesk.web.feeds import ArticleFeed

    story = make_story(sources=2, headline="Lithium")
    source = make_source()
    for minutes in range(3):
        make_article(source=source, story=story, minutes_ago=minutes, category="Economía")
    url = reverse(name, args=[story.id]) if name == "story-rss" else reverse(name)
    ours = client.get(url)
    monkeypatch.setattr(ArticleFeed, "get_feed", Feed.get_feed)
    djangos = client.get(url)
    assert ours.status_code == djangos.status_code == 200
    assert ours.content == djangos.content
    assert ours.content.count(b"newsdesk-article-") == 3


@pytest.mark.parametrize("name", FORMATS)
def test_direct_item_writer_matches_the_generic_path_on_hostile_content(client, monkeypatch, settings, name):
    from newsdesk.web.feeds.generators import _ExtraElements

    settings.NEWSDESK_FEED_ITEM_CACHE = 0  # both requests must write their items
    hostile = [text.replace("\x00", "") for text in HOSTILE] if connection.vendor == "postgresql" else HOSTILE
    for i, text in enumerate(hostile):
        make_article(
            source=make_source(name=f"Outlet {text}", country="MX"),
            title_en=f"Title {text}", summary_en=f"Summary {text}", title_orig=f"Orig {text}",
            category=text[:100], url=f"https://example.org/{i}?q=<&>\x01", story=make_story(sources=i + 2),
        )  # fmt: skip
    direct = client.get(reverse(name))
    monkeypatch.setattr(_ExtraElements, "_plain", lambda self, item: False)
    generic = client.get(reverse(name))
    assert direct.status_code == generic.status_code == 200
    assert direct.content == generic.content
    assert len(_strict(direct.content)) > 0
    assert direct.content.count(b"newsdesk-article-") == len(hostile)


def _hostile_desk() -> list:
    """Articles with every kind of awkward content, in and out of stories, with and without a URL."""
    hostile = [text.replace("\x00", "") for text in HOSTILE] if connection.vendor == "postgresql" else HOSTILE
    articles = []
    for i, text in enumerate(hostile):
        articles.append(
            make_article(
                source=make_source(name=f"Outlet {text}", country="MX" if i % 2 else "FR"),
                title_en=f"Title {text}" if i % 3 else "",
                summary_en=f"Summary {text}",
                title_orig=f"Orig {text}",
                category=text[:100],
                url=f"https://example.org/{i}?q=<&>\x01" if i % 4 else "",
                story=make_story(sources=i + 2) if i % 2 else None,
                minutes_ago=i,
            )
        )
    return articles


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_item_cache_gives_the_uncached_bytes_and_skips_the_item_work(client, monkeypatch, settings, name):
    from django.utils.feedgenerator import SyndicationFeed

    from newsdesk.web.feeds import ArticleFeed, feed_items

    articles = _hostile_desk()
    settings.NEWSDESK_FEED_ITEM_CACHE = 0
    feed_items.clear()
    plain = client.get(reverse(name)).content
    assert len(feed_items) == 0
    assert plain.count(b"newsdesk-article-") == len(articles)
    settings.NEWSDESK_FEED_ITEM_CACHE = 100
    assert client.get(reverse(name)).content == plain  # written and stored
    assert len(feed_items) == len(articles)
    # A hit does no per-item work at all.
    calls = []
    for cls, hook in ((SyndicationFeed, "add_item"), (ArticleFeed, "item_title"), (ArticleFeed, "item_categories")):
        original = getattr(cls, hook)
        monkeypatch.setattr(cls, hook, lambda *a, _o=original, _h=hook, **k: calls.append(_h) or _o(*a, **k))
    assert client.get(reverse(name)).content == plain
    assert calls == []
    if name == "feed-json":
        # The JSON writer joins item texts itself: still exactly json.dumps of the whole document.
        assert json.dumps(json.loads(plain), ensure_ascii=False).encode() == plain
    else:
        _strict(plain)


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_item_cache_follows_every_change_an_item_shows(client, settings, name):
    from newsdesk.models import Article
    from newsdesk.web.feeds import feed_items

    settings.NEWSDESK_FEED_ITEM_CACHE = 100
    feed_items.clear()
    source = make_source(name="El Financiero", country="MX")
    story = make_story(sources=2)
    article = make_article(source=source, story=story, title_en="Lithium deal")
    before = client.get(reverse(name)).content
    assert b"Lithium deal" in before and b"El Financiero" in before
    assert client.get(reverse(name)).content == before  # from the cache
    article.title_en = "Copper deal"
    article.save()  # updated_at moves
    source.name = "El Economista"
    source.save()
    story.source_count = 7
    story.save()
    after = client.get(reverse(name)).content
    assert b"Copper deal" in after and b"Lithium deal" not in after
    assert b"El Economista" in after and b"El Financiero" not in after
    coverage = b'"coverage": 7' if name == "feed-json" else b"<nd:coverage>7</nd:coverage>"
    assert coverage in after
    # Even a write that leaves updated_at alone makes a new entry: the key is the whole row.
    Article.objects.filter(id=article.id).update(summary_en="Rewritten lead")
    assert b"Rewritten lead" in client.get(reverse(name)).content
    settings.NEWSDESK_FEED_ITEM_CACHE = 0
    assert client.get(reverse(name)).content == client.get(reverse(name)).content
    uncached = client.get(reverse(name)).content
    settings.NEWSDESK_FEED_ITEM_CACHE = 100
    assert client.get(reverse(name)).content == uncached


@pytest.mark.parametrize("name", [*FORMATS, "feed-json"])
def test_item_cache_keeps_scheme_and_host_of_links_apart(client, settings, name):
    from newsdesk.web.feeds import feed_items

    settings.NEWSDESK_FEED_ITEM_CACHE = 100
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    feed_items.clear()
    story = make_story(sources=2)
    article = make_article(source=make_source(), story=story, url="")  # linked to its own page, on this site
    path = reverse("article", args=[article.id]).encode()
    assert b"http://testserver" + path in client.get(reverse(name)).content
    assert b"https://testserver" + path in client.get(reverse(name), secure=True).content
    assert b"http://other.example" + path in client.get(reverse(name), headers={"Host": "other.example"}).content
    assert len(feed_items) == 3


def test_item_cache_is_bounded(client, settings):
    from newsdesk.web.feeds import feed_items

    settings.NEWSDESK_FEED_ITEM_CACHE = 0
    source = make_source()
    for i in range(5):
        make_article(source=source, title_en=f"Story {i}", minutes_ago=i)
    plain = client.get(reverse("feed-rss")).content
    settings.NEWSDESK_FEED_ITEM_CACHE = 3
    feed_items.clear()
    assert client.get(reverse("feed-rss")).content == plain
    assert len(feed_items) == 3
    assert client.get(reverse("feed-rss")).content == plain


def test_a_subclass_with_its_own_item_hooks_is_not_served_the_base_feeds_items(rf, settings):
    from newsdesk.web.feeds import ArticleFeed, feed_items

    class ShoutingFeed(ArticleFeed):
        def item_title(self, item):
            return super().item_title(item).upper()

    settings.NEWSDESK_FEED_ITEM_CACHE = 100
    feed_items.clear()
    make_article(source=make_source(), title_en="Quiet headline")
    assert b"Quiet headline" in ArticleFeed()(rf.get("/feeds/rss/")).content
    shouted = ShoutingFeed()(rf.get("/feeds/rss/")).content
    assert b"QUIET HEADLINE" in shouted and b"Quiet headline" not in shouted
