"""OPML import/export: round trip, duplicates, invalid entries, hostile XML, commands."""

from __future__ import annotations

from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from newsdesk.ingest.opml import OpmlRejected, opml_export, opml_import, opml_parse
from newsdesk.models import Source, SourceKind

pytestmark = pytest.mark.django_db

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="World">
      <outline type="rss" text="El Pa&#237;s" xmlUrl="https://feeds.example.es/portada" htmlUrl="https://elpais.example.es/" language="es-ES"/>
      <outline type="rss" text="BBC World" xmlUrl="https://feeds.example.co.uk/world.xml"/>
    </outline>
    <outline text="Tech" title="Tech">
      <outline type="rss" title="Dupe of BBC" xmlUrl="https://feeds.example.co.uk/world.xml"/>
      <outline type="rss" text="No URL"/>
      <outline type="rss" text="Script" xmlUrl="javascript:alert(1)"/>
      <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
      <outline type="atom" text="Blog" xmlUrl="http://blog.example.org/atom.xml" country="de"/>
    </outline>
  </body>
</opml>"""


def test_parse_reads_feeds_folders_and_reports_invalid_entries():
    document = opml_parse(data=OPML)
    assert document.title == "My reader"
    assert [(e.name, e.url, e.category) for e in document.entries] == [
        ("El País", "https://feeds.example.es/portada", "World"),
        ("BBC World", "https://feeds.example.co.uk/world.xml", "World"),
        ("Dupe of BBC", "https://feeds.example.co.uk/world.xml", "Tech"),
        ("Blog", "http://blog.example.org/atom.xml", "Tech"),
    ]
    assert document.entries[0].language == "es" and document.entries[0].site_url == "https://elpais.example.es/"
    assert document.entries[3].country == "DE"
    reasons = [(i.text, i.reason.split(":")[0]) for i in document.invalid]
    assert reasons == [
        ("No URL", "feed outline without xmlUrl"),
        ("Script", "xmlUrl is not an http(s) URL"),
        ("Local file", "xmlUrl is not an http(s) URL"),
    ]


def test_import_reports_duplicates_and_invalid_and_creates_the_rest():
    Source.objects.create(name="Existing", url="http://blog.example.org/atom.xml")
    progress = []
    report = opml_import(document=opml_parse(data=OPML), on_progress=lambda done, total: progress.append((done, total)))
    assert [s.url for s in report.created] == [
        "https://feeds.example.es/portada",
        "https://feeds.example.co.uk/world.xml",
    ]
    assert [d.url for d in report.duplicates] == [
        "https://feeds.example.co.uk/world.xml",  # twice in the file
        "http://blog.example.org/atom.xml",  # already a source
    ]
    assert len(report.invalid) == 3
    assert progress[-1] == (4, 4)
    assert Source.objects.filter(kind=SourceKind.FEED).count() == 3
    # Importing again creates nothing.
    again = opml_import(document=opml_parse(data=OPML))
    assert again.created == [] and len(again.duplicates) == 4


def test_round_trip_keeps_names_urls_categories_language_and_country():
    Source.objects.create(
        name="Le Monde & co", url="https://lemonde.example.fr/rss.xml", category="World", language="fr", country="FR"
    )
    Source.objects.create(name="Plain", url="https://plain.example.org/feed")
    Source.objects.create(name="Inbox", kind=SourceKind.DROP, inbox="demo")
    data = opml_export(sources=Source.objects.order_by("name"))
    ET.fromstring(data)  # noqa: S314 (our own output) - well-formed for a strict parser
    Source.objects.all().delete()
    report = opml_import(document=opml_parse(data=data))
    assert len(report.created) == 2 and not report.duplicates and not report.invalid
    got = {s.url: (s.name, s.category, s.language, s.country) for s in Source.objects.all()}
    assert got == {
        "https://lemonde.example.fr/rss.xml": ("Le Monde & co", "World", "fr", "FR"),
        "https://plain.example.org/feed": ("Plain", "", "", ""),
    }


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">]><opml><body><outline xmlUrl="http://x.example/&a;"/></body></opml>',
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://127.0.0.1/evil.dtd"><opml/>',
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><head><title>&x;</title></head></opml>',
        b"<opml><body><outline",
        b"<rss/>",
        b"",
    ],
)
def test_hostile_or_broken_opml_is_refused(data):
    with pytest.raises(OpmlRejected):
        opml_parse(data=data)


def test_import_and_export_commands(tmp_path):
    path = tmp_path / "feeds.opml"
    path.write_bytes(OPML)
    out = StringIO()
    call_command("import_opml", str(path), stdout=out, verbosity=0)
    text = out.getvalue()
    assert "created=3 duplicates=1 invalid=3" in text
    assert "duplicate (line 10): https://feeds.example.co.uk/world.xml" in text
    assert "invalid (line 11): feed outline without xmlUrl [No URL]" in text
    exported = tmp_path / "out.opml"
    call_command("export_opml", "-o", str(exported))
    urls = {o.get("xmlUrl") for o in ET.fromstring(exported.read_bytes()).iter("outline") if o.get("xmlUrl")}  # noqa: S314
    assert urls == set(Source.objects.values_list("url", flat=True))
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b'<!DOCTYPE x [<!ENTITY e "e">]><opml/>')
    with pytest.raises(CommandError, match="refused"):
        call_command("import_opml", str(bad), verbosity=0)
