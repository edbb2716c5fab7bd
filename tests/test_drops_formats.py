"""newsdesk/drops/formats.py, card.py, encoding.py: every accepted format, detected by content."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.drops.card import card_year_resolve
from newsdesk.drops.errors import DropRejected
from newsdesk.drops.formats import ZipLimits, drop_parse

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seeds" / "000_dfb12736f0fd9d45.txt"
MTIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

CARD = """Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)

Un titular de prueba

Primer párrafo del cuerpo.

Segundo párrafo.

📡 Similar Coverage
"""


def _seed_bytes() -> bytes:
    if not SEED.exists():
        pytest.skip(f"seed card not found at {SEED} (the shared folder sits beside the repository)")
    return SEED.read_bytes()


def test_seed_card_maps_header_headline_body_and_date():
    """The seed card: MX, El Financiero, declared ES, exact headline, body without the marker, 9 Feb 11:00 UTC."""
    parsed = drop_parse(data=_seed_bytes(), name="000_dfb12736f0fd9d45.txt", mtime=MTIME)
    assert parsed.format == "card"
    [entry] = parsed.entries
    assert entry.country == "MX"
    assert entry.outlet == "El Financiero"
    assert entry.item.language == "es"
    assert entry.item.title == "Critical minerals should not be negotiated separately"
    assert entry.item.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)
    assert entry.item.summary.startswith("The U.S. government emphasizes the importance of securing critical minerals")
    assert entry.item.summary.endswith("highlighted during a recent ministerial meeting with global partners.")
    assert "Similar Coverage" not in entry.item.content
    assert "📡" not in entry.item.content
    assert entry.item.content.count("<p>") == 4
    assert entry.item.content.rstrip().endswith("considering resource dependencies.</p>")


def test_card_year_is_the_latest_not_after_the_file_time():
    """No year in the header: a card saved in January is from last year's February."""
    parsed = drop_parse(data=CARD.encode(), name="c.txt", mtime=datetime(2026, 1, 15, tzinfo=UTC))
    assert parsed.entries[0].item.published_at == datetime(2025, 2, 9, 11, 0, tzinfo=UTC)
    parsed = drop_parse(data=CARD.encode(), name="c.txt", mtime=datetime(2026, 2, 9, 11, 30, tzinfo=UTC))
    assert parsed.entries[0].item.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)


def test_card_year_skips_years_without_29_february():
    resolved = card_year_resolve(month=2, day=29, hour=8, minute=0, tz=UTC, reference=datetime(2026, 3, 1, tzinfo=UTC))
    assert resolved == datetime(2024, 2, 29, 8, 0, tzinfo=UTC)


def test_card_country_from_name_without_flag_and_offset_zone():
    text = "Mar 3 • 09:15 +01:00 South Africa Mail & Guardian (EN)\n\nHeadline here\n\nBody."
    [entry] = drop_parse(data=text.encode(), name="c.txt", mtime=MTIME).entries
    assert entry.country == "ZA"
    assert entry.outlet == "Mail & Guardian"
    assert entry.item.published_at == datetime(2025, 3, 3, 8, 15, tzinfo=UTC)
    assert entry.item.content == "<p>Body.</p>"  # escaped text in paragraphs


def test_card_with_unknown_zone_fails_naming_line_and_field():
    text = "Feb 9 • 11:00 CET 🇩🇪 Germany Die Zeit (DE)\n\nTitel\n"
    with pytest.raises(DropRejected) as info:
        drop_parse(data=text.encode(), name="c.txt", mtime=MTIME)
    assert info.value.line == 1
    assert info.value.field == "time zone"


def test_card_without_headline_fails():
    with pytest.raises(DropRejected) as info:
        drop_parse(
            data="Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)\n\n📡 Similar Coverage\n".encode(),
            name="c",
            mtime=MTIME,
        )
    assert info.value.field == "headline"


def test_json_object_maps_fields_and_ignores_unknown_ones():
    data = json.dumps(
        {
            "title": "Chile reports record lithium exports",
            "body": "First paragraph.\n\nSecond <b>paragraph</b>.",
            "url": "https://example.org/a",
            "published": "2026-02-09T09:30:00Z",
            "language": "es-CL",
            "country": "Chile",
            "source": "Demo Wire",
            "unknown": {"nested": True},
        }
    ).encode()
    parsed = drop_parse(data=data, name="x.json", mtime=MTIME)
    [entry] = parsed.entries
    assert parsed.format == "json"
    assert entry.item.title == "Chile reports record lithium exports"
    assert entry.item.summary == "First paragraph. Second <b>paragraph</b>."
    assert entry.item.content == "<p>First paragraph.</p>\n<p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>"
    assert entry.item.url == "https://example.org/a"
    assert entry.item.dedupe_key == "https://example.org/a"
    assert entry.item.published_at == datetime(2026, 2, 9, 9, 30, tzinfo=UTC)
    assert entry.item.language == "es"
    assert (entry.country, entry.outlet) == ("CL", "Demo Wire")


def test_json_array_missing_title_names_the_line_and_field():
    data = b'[\n  {"title": "One"},\n  {"summary": "no title here"}\n]'
    with pytest.raises(DropRejected) as info:
        drop_parse(data=data, name="x.json", mtime=MTIME)
    assert (info.value.line, info.value.field) == (3, "title")
    assert "missing title" in str(info.value)


def test_json_array_of_objects():
    data = json.dumps([{"title": "One", "summary": "s1"}, {"title": "Two", "summary": "s2"}]).encode()
    parsed = drop_parse(data=data, name="x.json", mtime=MTIME)
    assert [e.item.title for e in parsed.entries] == ["One", "Two"]
    assert [e.item.summary for e in parsed.entries] == ["s1", "s2"]
    assert parsed.entries[0].item.published_at == MTIME  # undated: the file's time


def test_ndjson_lines_and_error_line():
    good = b'{"title": "A", "published": "Mon, 09 Feb 2026 11:00:00 GMT"}\n\n{"title": "B", "published": 1770634800}\n'
    parsed = drop_parse(data=good, name="x.ndjson", mtime=MTIME)
    assert parsed.format == "ndjson"
    assert [e.item.published_at for e in parsed.entries] == [
        datetime(2026, 2, 9, 11, 0, tzinfo=UTC),
        datetime(2026, 2, 9, 11, 0, tzinfo=UTC),
    ]
    with pytest.raises(DropRejected) as info:
        drop_parse(data=good + b'{"title": "C", "published": "yesterday-ish"}\n', name="x.ndjson", mtime=MTIME)
    assert (info.value.line, info.value.field) == (4, "published")


def test_json_url_must_be_http():
    with pytest.raises(DropRejected) as info:
        drop_parse(data=b'{"title": "T", "url": "javascript:alert(1)"}', name="x.json", mtime=MTIME)
    assert info.value.field == "url"


def test_invalid_json_reports_line():
    with pytest.raises(DropRejected) as info:
        drop_parse(data=b'{\n"title": "T",\n"summary": }', name="x.json", mtime=MTIME)
    assert info.value.line == 3


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire Feed</title><link>https://example.org/</link><language>fr</language>
<item><title>Premier titre</title><link>https://example.org/1</link><guid>g-1</guid>
<description>R\xc3\xa9sum\xc3\xa9 un</description><pubDate>Mon, 09 Feb 2026 11:00:00 GMT</pubDate></item>
<item><title>Second titre</title><link>https://example.org/2</link><description>Deux</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Wire</title><id>urn:x</id><updated>2026-02-09T11:00:00Z</updated>
<entry><title>Atom entry</title><id>urn:e1</id><link href="https://example.org/e1"/><updated>2026-02-09T11:00:00Z</updated>
<summary>Atom summary</summary></entry></feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://example.org/"><title>RDF Wire</title><link>https://example.org/</link><description>d</description></channel>
<item rdf:about="https://example.org/r1"><title>RDF item</title><link>https://example.org/r1</link><description>RDF text</description></item>
</rdf:RDF>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Wire",
        "items": [
            {
                "id": "j1",
                "url": "https://example.org/j1",
                "title": "JSON Feed item",
                "content_text": "JSON Feed text",
                "date_published": "2026-02-09T11:00:00Z",
            }
        ],
    }
).encode()


@pytest.mark.parametrize(
    ("data", "outlet", "titles"),
    [
        (RSS, "Wire Feed", ["Premier titre", "Second titre"]),
        (ATOM, "Atom Wire", ["Atom entry"]),
        (RDF, "RDF Wire", ["RDF item"]),
        (JSON_FEED, "JSON Wire", ["JSON Feed item"]),
    ],
    ids=["rss", "atom", "rdf", "jsonfeed"],
)
def test_feed_files_go_through_the_feed_parser(data, outlet, titles):
    parsed = drop_parse(data=data, name="feed.bin", mtime=MTIME)
    assert parsed.format in ("feed", "jsonfeed")
    assert [e.item.title for e in parsed.entries] == titles
    assert {e.outlet for e in parsed.entries} == {outlet}


def test_rss_item_fields_and_undated_item_takes_file_time():
    parsed = drop_parse(data=RSS, name="feed.xml", mtime=MTIME)
    first, second = parsed.entries
    assert first.item.dedupe_key == "g-1"
    assert first.item.summary == "Résumé un"
    assert first.item.language == "fr"
    assert first.item.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)
    assert second.item.published_at == MTIME


def test_real_outlet_feed_from_corpus():
    path = SHARED / "corpora" / "feeds" / "outlets" / "elpais.xml"
    if not path.exists():
        pytest.skip(f"corpus feed not found at {path}")
    parsed = drop_parse(data=path.read_bytes(), name="elpais.xml", mtime=MTIME)
    assert parsed.format == "feed"
    assert len(parsed.entries) > 5
    assert all(e.item.title for e in parsed.entries)


def test_plain_text_first_line_is_title():
    data = "Argentina analiza nuevas reglas\nEl gobierno estudia un marco.\n\nSegundo párrafo.\n".encode()
    parsed = drop_parse(data=data, name="nota.txt", mtime=MTIME)
    [entry] = parsed.entries
    assert parsed.format == "text"
    assert entry.item.title == "Argentina analiza nuevas reglas"
    assert entry.item.summary == "El gobierno estudia un marco. Segundo párrafo."
    assert entry.item.published_at == MTIME
    assert entry.outlet == ""


def test_markdown_heading_title():
    parsed = drop_parse(data=b"# A markdown title\n\nSome *body*.\n", name="note.md", mtime=MTIME)
    assert parsed.format == "markdown"
    assert parsed.entries[0].item.title == "A markdown title"


def test_same_text_same_key_edited_text_new_key():
    one = drop_parse(data=b"Title\nBody one", name="a.txt", mtime=MTIME).entries[0].item.dedupe_key
    same = drop_parse(data=b"Title\nBody one", name="b.txt", mtime=datetime(2026, 5, 1, tzinfo=UTC))
    other = drop_parse(data=b"Title\nBody two", name="a.txt", mtime=MTIME).entries[0].item.dedupe_key
    assert same.entries[0].item.dedupe_key == one
    assert other != one


def test_txt_starting_with_brace_falls_back_to_text_but_json_extension_does_not():
    assert drop_parse(data=b"{draft} A title\nbody", name="n.txt", mtime=MTIME).format == "text"
    with pytest.raises(DropRejected):
        drop_parse(data=b"{draft} A title\nbody", name="n.json", mtime=MTIME)


def test_empty_and_binary_files_are_rejected():
    with pytest.raises(DropRejected, match="empty"):
        drop_parse(data=b"\n \n", name="e.txt", mtime=MTIME)
    with pytest.raises(DropRejected, match="binary"):
        drop_parse(data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", name="i.png", mtime=MTIME)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom"],
)
def test_unicode_encodings(encoding, prefix):
    parsed = drop_parse(data=prefix + CARD.encode(encoding), name="c.txt", mtime=MTIME)
    assert parsed.format == "card"
    assert parsed.entries[0].item.title == "Un titular de prueba"
    assert "párrafo" in parsed.entries[0].item.content


def test_legacy_single_byte_encoding_is_detected():
    text = (
        "Élections régionales : la participation est en forte baisse\n"
        "Les électeurs français se sont moins déplacés qu'il y a six ans, selon les premières estimations. "
        "Les résultats définitifs seront connus à la fin de la soirée électorale, a précisé le ministère.\n"
    )
    parsed = drop_parse(data=text.encode("cp1252"), name="n.txt", mtime=MTIME)
    assert parsed.entries[0].item.title == "Élections régionales : la participation est en forte baisse"
    assert "déplacés" in parsed.entries[0].item.summary


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_members_are_parsed_by_content():
    data = _zip({"a/card.txt": CARD.encode(), "b.json": b'{"title": "From zip"}', ".hidden": b"x"})
    parsed = drop_parse(data=data, name="batch.zip", mtime=MTIME)
    assert parsed.format == "zip"
    assert sorted(e.item.title for e in parsed.entries) == ["From zip", "Un titular de prueba"]
    assert {e.member for e in parsed.entries} == {"a/card.txt", "b.json"}


def test_zip_traversal_member_is_refused():
    with pytest.raises(DropRejected, match="escapes") as info:
        drop_parse(data=_zip({"../../etc/evil.txt": b"T\nbody"}), name="x.zip", mtime=MTIME)
    assert info.value.member == "../../etc/evil.txt"


def test_zip_bomb_member_is_refused_by_unpacked_size():
    data = _zip({"big.txt": b"Title\n" + b"a" * 2_000_000})
    assert len(data) < 50_000
    with pytest.raises(DropRejected, match="larger than"):
        drop_parse(data=data, name="x.zip", mtime=MTIME, zip_limits=ZipLimits(max_member_bytes=1_000_000))


def test_zip_member_error_names_member_and_line():
    with pytest.raises(DropRejected) as info:
        drop_parse(data=_zip({"items.ndjson": b'{"title": "ok"}\n{"nope": 1}\n'}), name="x.zip", mtime=MTIME)
    assert (info.value.member, info.value.line, info.value.field) == ("items.ndjson", 2, "title")


def test_dropped_feed_file_keeps_more_items_than_a_poll_stores(settings):
    """A feed file is a delivery: the per-poll item cap does not truncate it."""
    from tests.support.http import rss

    settings.NEWSDESK_MAX_ITEMS_PER_POLL = 5
    items = [{"title": f"Item {i}", "guid": f"g-{i}", "link": f"https://example.org/{i}"} for i in range(40)]
    parsed = drop_parse(data=rss(items), name="backfill.xml", mtime=MTIME)
    assert len(parsed.entries) == 40


def test_control_characters_are_stripped_from_card_fields():
    """A backspace or U+FFFE in a card never reaches the stored title or body."""
    data = (
        "Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)\n\n\x08Title\ufffe here\n\nBody\x0b text\n\n📡 Similar Coverage\n"
    ).encode()
    (entry,) = drop_parse(data=data, name="card.txt", mtime=MTIME).entries
    assert entry.item.title == "Title here"
    assert "\x0b" not in entry.item.summary and "Body text" in entry.item.summary


def test_zip_with_an_unsupported_compression_version_is_refused_with_a_reason():
    """zipfile raises NotImplementedError for some headers; that is a refusal, not a crash."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "Title\nBody")
    raw = bytearray(buffer.getvalue())
    central = raw.find(b"PK\x01\x02")
    raw[central + 6 : central + 8] = (84).to_bytes(2, "little")  # "version needed to extract" 8.4
    with pytest.raises(DropRejected):
        drop_parse(data=bytes(raw), name="bad.zip", mtime=MTIME)
