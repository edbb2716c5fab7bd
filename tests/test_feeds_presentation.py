"""What a subscriber sees of a feed: a human title, the original-language rule, an XSL view in browsers."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles import finders
from lxml import etree

from newsdesk.models import TranslationStatus
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db
NS = {"nd": "urn:x-newsdesk:feed:1", "atom": "http://www.w3.org/2005/Atom"}


def _xml(content: bytes):
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def test_feed_titles_are_human(client):
    source = make_source(name="El Financiero", country="MX", language="es")
    make_article(source=source)
    rss = _xml(client.get("/feeds/rss/?country=MX&lang=es").content)
    assert rss.findtext("channel/title") == "Newsdesk — Mexico, Spanish"
    assert rss.findtext("channel/description") == "English headlines from Newsdesk for Mexico, Spanish"
    atom = _xml(client.get(f"/feeds/atom/?source={source.id}&q=lithium&coverage=3").content)
    assert atom.findtext("atom:title", namespaces=NS) == (
        "Newsdesk — El Financiero, covered by 3+ outlets, search “lithium”"
    )
    plain = json.loads(client.get("/feeds/json/").content)
    assert plain["title"] == "Newsdesk"


def test_feed_items_carry_the_original_language_rule(client):
    """The seed card (declared ES, English text) is ES in feeds, as on its card."""
    source = make_source(name="El Financiero", country="MX", language="es")
    make_article(
        source=source,
        title_en="Critical minerals should not be negotiated separately",
        title_orig="Critical minerals should not be negotiated separately",
        language="en",
        language_declared="es",
        status=TranslationStatus.NOT_NEEDED,
    )
    rss = _xml(client.get("/feeds/rss/?lang=es").content)
    item = rss.find("channel/item")
    assert item.findtext("nd:original_language", namespaces=NS) == "es"
    assert "lang:es" in [c.text for c in item.findall("category")]
    data = json.loads(client.get("/feeds/json/?lang=es").content)
    assert data["items"][0]["_newsdesk"]["original_language"] == "es"


def test_rss_and_atom_point_browsers_at_the_xsl_view(client):
    make_article(source=make_source())
    for path in ("/feeds/rss/", "/feeds/atom/"):
        body = client.get(path).content.decode()
        declaration, stylesheet, _rest = body.split("?>", 2)
        assert declaration.startswith("<?xml ")
        assert (
            stylesheet.strip() == '<?xml-stylesheet href="/static/newsdesk/feed.xsl" media="screen" type="text/xsl"'
        ), path
    # The stylesheet exists and is well-formed XSLT that turns our RSS into an HTML page.
    xsl = etree.XSLT(etree.parse(finders.find("newsdesk/feed.xsl")))
    page = xsl(_xml(client.get("/feeds/rss/").content))
    text = " ".join(str(page).split())
    assert "This is a web feed" in text and "Critical minerals should not be negotiated separately" in text
    atom_page = " ".join(str(xsl(_xml(client.get("/feeds/atom/").content))).split())
    assert "Critical minerals should not be negotiated separately" in atom_page


def test_browsers_get_xml_their_xsl_can_render_readers_keep_the_feed_type(client):
    make_article(source=make_source())
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path, own in (("/feeds/rss/", "application/rss+xml"), ("/feeds/atom/", "application/atom+xml")):
        reader = client.get(path, HTTP_ACCEPT="application/rss+xml, application/atom+xml, */*")
        page = client.get(path, HTTP_ACCEPT=browser)
        assert reader["Content-Type"].startswith(own)
        assert page["Content-Type"] == "application/xml; charset=utf-8"
        assert page.content == reader.content and page["ETag"] == reader["ETag"]
        assert "Accept" in reader["Vary"] and "Accept" in page["Vary"]
    assert client.get("/feeds/json/", HTTP_ACCEPT=browser)["Content-Type"].startswith("application/feed+json")


def test_the_dashboard_tab_is_titled_like_its_feed(client):
    from lxml import html

    make_article(source=make_source(name="El Financiero", country="MX", language="es"))
    doc = html.fromstring(client.get("/?country=MX&lang=es").content.decode())
    assert doc.findtext(".//title") == "Mexico, Spanish · Newsdesk"
    assert html.fromstring(client.get("/").content.decode()).findtext(".//title") == "Newsdesk"
