"""NewsML 1.x and Slashdot's backslash format: parsed into items, served and polled like a feed,
and held to the same hostile-input rules as RSS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.ingest.fetch import fetch_url
from newsdesk.ingest.parse import FeedRejected, parse_feed
from newsdesk.ingest.poll import source_poll
from newsdesk.models import Article, Source


def _newsml(items: str, *, prolog: str = "") -> bytes:
    return (
        f'{prolog}<NewsML version="1.2" xmlns:mi="http://example.org/mi/">'
        "<NewsEnvelope><DateAndTime>20261207T101500Z</DateAndTime>"
        '<NewsService FormalName="Wire" link-url="https://diario.example/">Wire</NewsService></NewsEnvelope>'
        f"{items}</NewsML>"
    ).encode()


_ITEM_FULL = """
<NewsItem xml:lang="es-ES">
  <Identification><NewsIdentifier>
    <ProviderId>diario.example</ProviderId><DateId>20261207</DateId><NewsItemId>4711</NewsItemId>
    <PublicIdentifier>urn:newsml:diario.example:20261207:4711:1</PublicIdentifier>
  </NewsIdentifier></Identification>
  <NewsManagement>
    <FirstCreated>20261207T101500+0100</FirstCreated>
    <ThisRevisionCreated>2026-12-07T11:30:00+01</ThisRevisionCreated>
  </NewsManagement>
  <NewsLines>
    <HeadLine><![CDATA[El puerto &quot;reabre&quot; <b>hoy</b>]]></HeadLine>
    <ByLine>Ana Ruiz</ByLine>
    <Description><![CDATA[<p>Resumen del <i>puerto</i>&nbsp;de hoy</p>]]></Description>
    <DeriveredFrom>https://diario.example/puerto/4711?utm_source=msn</DeriveredFrom>
  </NewsLines>
  <NewsComponent>
    <ContentItem><DataContent><nitf><body><body.content>
      <media media-type="image"><media-reference mime-type="image/jpeg" source="https://cdn.diario.example/p.jpg"/>
        <media-caption>Pie de foto</media-caption></media>
      <![CDATA[<p onclick="x()">Cuerpo <a href="/mapa">mapa</a><script>alert(1)</script></p>]]>
    </body.content></body></nitf></DataContent></ContentItem>
  </NewsComponent>
</NewsItem>"""

_ITEM_BARE = """
<NewsItem>
  <Identification><NewsIdentifier><ProviderId>diario.example</ProviderId></NewsIdentifier></Identification>
  <NewsManagement><FirstCreated>2026-12-07T9:05:00+01</FirstCreated></NewsManagement>
  <NewsComponent><NewsLines><HeadLine>Segunda noticia</HeadLine>
    <DeriveredFrom>https://diario.example/segunda</DeriveredFrom></NewsLines></NewsComponent>
</NewsItem>"""


def _backslash(stories: str, *, lead: str = "\n") -> bytes:
    return (
        f'{lead}<?xml version="1.0"?><backslash xmlns:backslash="https://slashdot.example/backslash.dtd">'
        f"{stories}</backslash>"
    ).encode()


_STORY = """
<story>
  <title>Robots &amp; Rust: a {n}th look</title>
  <url>https://slashdot.example/story/26/12/07/{n}/robots</url>
  <time>2026-12-07 14:0{n}:00</time>
  <author>editor{n}</author>
  <department>the-rust-never-sleeps</department>
  <topic>{topic}</topic>
  <comments>12</comments>
  <section>{section}</section>
  <image>topic.png</image>
</story>"""


def test_newsml_item_fields_are_normalised():
    feed = parse_feed(body=_newsml(_ITEM_FULL + _ITEM_BARE), base_url="https://diario.example/msn.xml")
    assert (feed.format, feed.bozo, feed.entries_total, feed.link) == ("newsml", False, 2, "https://diario.example/")
    first, second = feed.items
    assert first.title == 'El puerto "reabre" hoy'
    assert first.url == "https://diario.example/puerto/4711?utm_source=msn"
    assert first.guid == first.dedupe_key == "urn:newsml:diario.example:20261207:4711:1"
    assert first.published_at == datetime(2026, 12, 7, 9, 15, tzinfo=UTC)  # basic ISO 8601, +0100
    assert first.updated_at == datetime(2026, 12, 7, 10, 30, tzinfo=UTC)  # partial offset "+01"
    assert first.summary == "Resumen del puerto de hoy"
    assert "Cuerpo" in first.content and "https://diario.example/mapa" in first.content
    assert "script" not in first.content and "onclick" not in first.content
    assert "Pie de foto" not in first.content  # the image caption is not body text
    assert (first.author, first.language, first.image_url) == ("Ana Ruiz", "es", "https://cdn.diario.example/p.jpg")
    # No PublicIdentifier or NewsItemId: the link is the item's key, not the shared ProviderId.
    assert second.guid == second.dedupe_key == "https://diario.example/segunda"
    assert second.title == "Segunda noticia" and second.summary == ""
    assert second.published_at == datetime(2026, 12, 7, 8, 5, tzinfo=UTC)  # one-digit hour


def test_newsml_item_id_without_public_identifier_is_qualified_by_provider_and_date():
    item = _ITEM_FULL.replace("<PublicIdentifier>urn:newsml:diario.example:20261207:4711:1</PublicIdentifier>", "")
    [parsed] = parse_feed(body=_newsml(item)).items
    assert parsed.guid == "diario.example:20261207:4711"


def test_backslash_stories_are_items_with_utc_times_and_leading_newline_tolerated():
    stories = _STORY.format(n=1, topic="84", section="news") + _STORY.format(n=2, topic="rust", section="")
    feed = parse_feed(body=_backslash(stories))
    assert (feed.format, feed.bozo, feed.entries_total) == ("backslash", False, 2)
    first, second = feed.items
    assert first.title == "Robots & Rust: a 1th look"
    assert first.url == first.dedupe_key == "https://slashdot.example/story/26/12/07/1/robots"
    assert first.published_at == datetime(2026, 12, 7, 14, 1, tzinfo=UTC)
    assert first.author == "editor1"
    assert first.category == "news"  # a numeric topic says nothing; the section does
    assert second.category == "rust"


def test_a_story_without_title_is_dropped_and_counted():
    feed = parse_feed(
        body=_backslash(
            "<story><url>https://slashdot.example/x</url></story>" + _STORY.format(n=3, topic="1", section="it")
        )
    )
    assert [i.title for i in feed.items] == ["Robots & Rust: a 3th look"]
    assert (feed.entries_total, feed.entries_dropped) == (2, 1)


def test_leading_whitespace_before_the_declaration_no_longer_makes_rss_bozo():
    body = (
        b'\n  <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><guid>1</guid></item></channel></rss>"
    )
    for prefix in (b"", b"\xef\xbb\xbf"):
        feed = parse_feed(body=prefix + body)
        assert not feed.bozo, feed.bozo_reason
        assert [i.title for i in feed.items] == ["One"]


def test_other_roots_take_the_rss_path_unchanged():
    with pytest.raises(FeedRejected, match="no RSS, Atom or JSON Feed document"):
        parse_feed(body=b'<?xml version="1.0"?><NewsMLish><NewsItem/></NewsMLish>')


@pytest.mark.parametrize(
    "body",
    [
        _newsml(_ITEM_BARE.replace("Segunda noticia", "&a;&a;"), prolog='<!DOCTYPE NewsML [<!ENTITY a "aaaa">]>'),
        _newsml(
            _ITEM_BARE.replace("Segunda noticia", "&x;"),
            prolog='<!DOCTYPE NewsML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        ),
        _backslash(_STORY.format(n=1, topic="&b;", section="s"), lead="").replace(
            b"<backslash", b'<!DOCTYPE backslash [<!ENTITY b "bbbb">]><backslash', 1
        ),
        # Spelled in UTF-16: the raw bytes hide "<!ENTITY" (and the root-name sniff does not match);
        # still refused.
        _newsml(_ITEM_BARE, prolog='<?xml version="1.0" encoding="utf-16"?><!DOCTYPE NewsML [<!ENTITY a "a">]>')
        .decode()
        .encode("utf-16"),
    ],
    ids=["internal-entity", "external-entity", "backslash-entity", "utf16-entity"],
)
def test_entity_declarations_are_refused_as_in_rss(body):
    with pytest.raises(FeedRejected, match="ENTITY"):
        parse_feed(body=body)


def test_a_doctype_pointing_at_an_external_dtd_is_not_fetched_or_read(tmp_path):
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ELEMENT x ANY><!ATTLIST NewsItem marker CDATA "SECRET">')
    body = _newsml(_ITEM_BARE, prolog=f'<!DOCTYPE NewsML SYSTEM "file://{secret}">')
    [item] = parse_feed(body=body).items
    assert item.title == "Segunda noticia"
    assert "SECRET" not in repr(item)


@pytest.mark.parametrize(
    "body",
    [
        _newsml("<NewsItem><NewsLines><HeadLine>Open</NewsLines></NewsItem>"),  # ill-formed
        _newsml("<NewsItem>" + "<NewsComponent>" * 200_000 + "</NewsComponent>" * 200_000 + "</NewsItem>"),
    ],
    ids=["ill-formed", "deep"],
)
def test_ill_formed_or_absurdly_deep_documents_are_rejected_or_parsed_never_crash(body):
    try:
        feed = parse_feed(body=body)
    except FeedRejected as exc:
        assert str(exc)
    else:
        assert feed.format == "newsml"


def test_item_cap_applies(settings):
    settings.NEWSDESK_MAX_ITEMS_PER_POLL = 3
    stories = "".join(_STORY.format(n=n, topic="1", section="it") for n in range(6))
    feed = parse_feed(body=_backslash(stories))
    assert len(feed.items) == 3 and feed.entries_dropped == 3


@pytest.mark.django_db
def test_newsml_and_backslash_served_on_loopback_are_polled_into_articles(feed_server):
    feed_server.static("/msn.xml", _newsml(_ITEM_FULL + _ITEM_BARE), content_type="application/xml")
    feed_server.static(
        "/backslash.xml", _backslash(_STORY.format(n=1, topic="84", section="news")), content_type="text/xml"
    )
    result = fetch_url(url=feed_server.url("/msn.xml"))
    assert [i.title for i in parse_feed(body=result.body, headers=result.headers).items] == [
        'El puerto "reabre" hoy',
        "Segunda noticia",
    ]
    for path, expected in (("/msn.xml", 2), ("/backslash.xml", 1)):
        source = Source.objects.create(name=path, url=feed_server.url(path))
        polled = source_poll(source_id=source.id, force=True)
        assert polled.attempt is not None and polled.attempt.outcome == "ok", polled.attempt
        assert polled.attempt.items_new == expected
        assert Article.objects.filter(source=source).count() == expected
    story = Article.objects.get(source__name="/backslash.xml")
    assert (story.title_orig, story.author, story.category) == ("Robots & Rust: a 1th look", "editor1", "news")
    assert story.published_at == datetime(2026, 12, 7, 14, 1, tzinfo=UTC)
