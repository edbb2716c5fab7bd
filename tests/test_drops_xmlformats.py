"""The drop path (newsdesk/drops) for the XML formats h26feeds added to the feed parser:
NewsML 1.x, Slashdot's backslash and a feed with whitespace before its ``<?xml`` declaration.

Each file is built here and written into the test's own drop folder (tests/conftest.py's
``drop``); the scan must store its items as articles, move it to ``done/`` and say ``format=feed``.
"""

from __future__ import annotations

import io
import os
import zipfile
from datetime import UTC, datetime

import pytest

from newsdesk.drops.formats import drop_parse
from newsdesk.drops.scan import drop_source_scan
from newsdesk.models import Article, FetchAttempt

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

NEWSML = """<?xml version="1.0" encoding="utf-8"?>
<NewsML version="1.2">
 <NewsEnvelope><DateAndTime>20261207T101500Z</DateAndTime>
  <NewsService FormalName="Wire" link-url="https://diario.example/">Diario Wire</NewsService></NewsEnvelope>
 <NewsItem xml:lang="es-ES">
  <Identification><NewsIdentifier>
   <ProviderId>diario.example</ProviderId><DateId>20261207</DateId><NewsItemId>4711</NewsItemId>
   <PublicIdentifier>urn:newsml:diario.example:20261207:4711:1</PublicIdentifier>
  </NewsIdentifier></Identification>
  <NewsManagement><FirstCreated>20261207T101500+0100</FirstCreated></NewsManagement>
  <NewsLines>
   <HeadLine>El puerto de Valencia reabre hoy</HeadLine>
   <ByLine>Ana Ruiz</ByLine>
   <Description><![CDATA[<p>Resumen del puerto de hoy</p>]]></Description>
   <DeriveredFrom>https://diario.example/puerto/4711</DeriveredFrom>
  </NewsLines>
  <NewsComponent><ContentItem><DataContent><nitf><body><body.content>
   <![CDATA[<p>Cuerpo de la noticia sobre el puerto.</p>]]>
  </body.content></body></nitf></DataContent></ContentItem></NewsComponent>
 </NewsItem>
 <NewsItem>
  <Identification><NewsIdentifier><ProviderId>diario.example</ProviderId><DateId>20261207</DateId>
   <NewsItemId>4712</NewsItemId></NewsIdentifier></Identification>
  <NewsManagement><FirstCreated>2026-12-07T09:05:00+01</FirstCreated></NewsManagement>
  <NewsComponent><NewsLines><HeadLine>Segunda noticia del día</HeadLine>
   <DeriveredFrom>https://diario.example/segunda</DeriveredFrom></NewsLines></NewsComponent>
 </NewsItem>
</NewsML>
"""

BACKSLASH = """
<?xml version="1.0"?><backslash xmlns:backslash="https://slashdot.example/backslash.dtd">
<story><title>Robots &amp; Rust: a first look</title>
 <url>https://slashdot.example/story/26/12/07/1/robots</url><time>2026-12-07 14:01:00</time>
 <author>editor1</author><topic>84</topic><section>news</section></story>
<story><title>A second story</title>
 <url>https://slashdot.example/story/26/12/07/2/second</url><time>2026-12-07 15:30:00</time>
 <author>editor2</author><topic>rust</topic><section></section></story>
</backslash>
"""

RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Indented Wire</title>'
    "<link>https://indented.example/</link>"
    "<item><title>Port reopens</title><link>https://indented.example/a</link><guid>a-1</guid>"
    "<pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate><description>First.</description></item>"
    "<item><title>Second item</title><link>https://indented.example/b</link><guid>b-2</guid>"
    "<description>No date: the file's time stands in.</description></item>"
    "</channel></rss>"
)


def _put(drop, name: str, data: bytes) -> None:
    path = drop.box / name
    path.write_bytes(data)
    os.utime(path, (MARCH.timestamp(), MARCH.timestamp()))


def _scan_one(drop):
    [result] = drop_source_scan(source=drop).files
    attempt = FetchAttempt.objects.get(source=drop)
    assert attempt.outcome == FetchAttempt.Outcome.OK, attempt.detail
    assert "format=feed" in attempt.detail
    assert "bozo" not in attempt.detail
    assert list((drop.box / "failed").iterdir()) == []
    assert [p.name for p in (drop.box / "done").rglob("*") if p.is_file()] == [result.name]
    return result


def test_a_newsml_file_becomes_articles_of_its_service(drop):
    _put(drop, "msn-diario.xml", NEWSML.encode())
    result = _scan_one(drop)
    assert (result.status, result.new) == ("ok", 2)
    first, second = Article.objects.order_by("published_at")
    assert second.title_orig == "El puerto de Valencia reabre hoy"
    assert second.url == "https://diario.example/puerto/4711"
    assert second.dedupe_key == "urn:newsml:diario.example:20261207:4711:1"
    assert second.published_at == datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
    assert second.author == "Ana Ruiz"
    assert second.language_declared == "es"
    assert "Resumen del puerto" in second.summary_orig
    assert "Cuerpo de la noticia" in second.content_orig
    assert first.title_orig == "Segunda noticia del día"
    assert first.dedupe_key == "diario.example:20261207:4712"
    assert first.published_at == datetime(2026, 12, 7, 8, 5, tzinfo=UTC)
    # NewsML names no outlet (its NewsService is a wire's label): both stay on the drop source.
    assert {a.source_id for a in (first, second)} == {drop.id}


def test_a_backslash_file_with_a_newline_before_its_declaration_is_read(drop):
    _put(drop, "slashdot.xml", BACKSLASH.encode())
    result = _scan_one(drop)
    assert (result.status, result.new) == ("ok", 2)
    assert list(Article.objects.order_by("published_at").values_list("title_orig", "url", "published_at")) == [
        (
            "Robots & Rust: a first look",
            "https://slashdot.example/story/26/12/07/1/robots",
            datetime(2026, 12, 7, 14, 1, tzinfo=UTC),
        ),
        (
            "A second story",
            "https://slashdot.example/story/26/12/07/2/second",
            datetime(2026, 12, 7, 15, 30, tzinfo=UTC),
        ),
    ]


@pytest.mark.parametrize("lead", [b"\n", b"  \r\n\t", b"\xef\xbb\xbf\n   "], ids=["newline", "indent", "bom-newline"])
def test_whitespace_before_the_declaration_is_a_clean_feed(drop, lead):
    _put(drop, "indented.rss", lead + RSS.encode())
    result = _scan_one(drop)
    assert (result.status, result.new) == ("ok", 2)
    rows = dict(Article.objects.values_list("title_orig", "published_at"))
    assert rows == {"Port reopens": datetime(2026, 12, 7, 10, 0, tzinfo=UTC), "Second item": MARCH}
    assert set(Article.objects.values_list("source__name", flat=True)) == {"Indented Wire"}


def test_the_three_formats_in_one_archive_and_as_a_text_named_file(drop):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("wire/newsml.xml", NEWSML)
        archive.writestr("wire/slashdot.xml", BACKSLASH)
    _put(drop, "batch.zip", buffer.getvalue())
    _put(drop, "indented.txt", b"\n\n" + RSS.encode())  # a feed, not a note titled '<?xml ...'
    results = {r.name: r for r in drop_source_scan(source=drop).files}
    assert {name: (r.status, r.new) for name, r in results.items()} == {
        "batch.zip": ("ok", 4),
        "indented.txt": ("ok", 2),
    }
    assert Article.objects.count() == 6
    assert not Article.objects.filter(title_orig__startswith="<").exists()


def test_drop_parse_reads_each_format_as_a_feed_without_bozo_notes():
    for name, data, titles in (
        ("n.xml", NEWSML.encode(), {"El puerto de Valencia reabre hoy", "Segunda noticia del día"}),
        ("s.xml", BACKSLASH.encode(), {"Robots & Rust: a first look", "A second story"}),
        ("r.xml", b" \n" + RSS.encode(), {"Port reopens", "Second item"}),
    ):
        parsed = drop_parse(data=data, name=name, mtime=MARCH)
        assert parsed.format == "feed", name
        assert parsed.notes == [], name
        assert {e.item.title for e in parsed.entries} == titles


def test_an_ill_formed_feed_is_stored_and_says_bozo_as_a_poll_does(drop):
    _put(
        drop,
        "loose.xml",
        RSS.replace("<description>First.</description>", "<description>A&nbsp;b</description>").encode(),
    )
    [result] = drop_source_scan(source=drop).files
    assert (result.status, result.new) == ("ok", 2)
    assert "bozo: SAXParseException" in FetchAttempt.objects.get(source=drop).detail
    assert "undefined entity" in FetchAttempt.objects.get(source=drop).detail


def test_a_truncated_newsml_file_fails_with_the_parser_reason_and_stores_nothing(drop):
    _put(drop, "broken.xml", NEWSML.replace("</NewsML>", "").encode())
    [result] = drop_source_scan(source=drop).files
    assert result.status == "failed"
    assert Article.objects.count() == 0
    reason = (drop.box / "failed" / "broken.xml.error.txt").read_text()
    assert "looks like XML but is not a feed" in reason
    assert "ill-formed XML" in reason
