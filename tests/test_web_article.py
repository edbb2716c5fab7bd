"""The article permalink page, and feed items that link to it instead of the site root."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from lxml import etree, html

from newsdesk.models import Article, TranslationStatus
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source, make_story

pytestmark = pytest.mark.django_db
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


def _xml(content: bytes):
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def _links(client) -> dict[str, dict[str, str]]:
    """guid -> link, per format, as a subscriber's reader keys them."""
    rss = _xml(client.get(reverse("feed-rss")).content)
    atom = _xml(client.get(reverse("feed-atom")).content)
    data = json.loads(client.get(reverse("feed-json")).content)
    return {
        "rss": {i.findtext("guid"): i.findtext("link") for i in rss.iter("item")},
        "atom": {
            e.findtext("atom:id", namespaces=ATOM): e.find("atom:link", ATOM).get("href")
            for e in atom.iterfind("atom:entry", ATOM)
        },
        "json": {i["id"]: i["url"] for i in data["items"]},
    }


def test_every_article_has_its_own_page_in_every_state(client):
    """A drop with no URL and no story, a pending translation, a story member: each page shows its card."""
    source = make_source(name="El Financiero")
    story = make_story(sources=2)
    drop = make_article(source=source, url="", title_en="Drop headline", minutes_ago=3)
    pending = make_article(
        source=source, title_en="", summary_en="", title_orig="Título pendiente", status=TranslationStatus.PENDING
    )
    member = make_article(source=source, story=story, title_en="Member headline", minutes_ago=1)
    for article, title in ((drop, "Drop headline"), (pending, "Título pendiente"), (member, "Member headline")):
        response = client.get(reverse("article", args=[article.id]))
        assert response.status_code == 200
        page = html.fromstring(response.content)
        assert page.findtext(".//h2[@class='headline']") == title
        assert page.find(".//link[@rel='canonical']").get("href") == reverse("article", args=[article.id])
        # The page is the permalink: its own card does not link to itself.
        assert not page.xpath("//a[@class='permalink']")
    page = html.fromstring(client.get(reverse("article", args=[member.id])).content)
    assert page.xpath(f"//a[@href='{reverse('story', args=[story.id])}']")
    page = html.fromstring(client.get(reverse("article", args=[drop.id])).content)
    assert "Not yet grouped into a story." in page.text_content()
    assert "published no link" in page.text_content()


def test_unknown_article_is_404(client):
    assert client.get(reverse("article", args=[987654])).status_code == 404


def test_the_page_escapes_hostile_text(client):
    article = make_article(source=make_source(name="<b>Outlet</b>"), title_en='<script>alert("x")</script>')
    body = client.get(reverse("article", args=[article.id])).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body


def test_dashboard_and_story_cards_link_to_the_permalink(client):
    story = make_story(sources=2)
    a = make_article(source=make_source(), story=story)
    b = make_article(source=make_source(), story=story, url="", minutes_ago=2)
    for url in (reverse("dashboard"), reverse("story", args=[story.id])):
        page = html.fromstring(client.get(url).content)
        hrefs = [el.get("href") for el in page.xpath("//a[@class='permalink']")]
        assert sorted(hrefs) == sorted(reverse("article", args=[x.id]) for x in (a, b))


def test_items_without_an_original_url_link_to_their_own_page_never_the_root(client):
    """Each item has a distinct link; none is the dashboard; the guid does not depend on the link."""
    story = make_story(sources=2)
    source = make_source()
    drop = make_article(source=source, url="", minutes_ago=1)
    in_story = [make_article(source=source, story=story, url="", minutes_ago=m) for m in (2, 3)]
    original = make_article(source=source, url="https://outlet.example/original", minutes_ago=4)
    expected = {
        f"newsdesk-article-{a.id}": f"http://testserver{reverse('article', args=[a.id])}" for a in (drop, *in_story)
    }
    expected[f"newsdesk-article-{original.id}"] = "https://outlet.example/original"
    for links in _links(client).values():
        assert links == expected
        assert "http://testserver/" not in links.values()


def test_guid_stays_when_the_article_changes(client):
    article = make_article(source=make_source(), url="", title_en="", summary_en="", status=TranslationStatus.FAILED)
    before = _links(client)
    Article.objects.filter(pk=article.pk).update(
        title_en="Now in English", translation_status=TranslationStatus.DONE, url="https://outlet.example/late"
    )
    after = _links(client)
    for fmt in before:
        assert list(before[fmt]) == list(after[fmt]) == [f"newsdesk-article-{article.id}"]
    assert after["rss"][f"newsdesk-article-{article.id}"] == "https://outlet.example/late"


def test_private_desk_article_page_needs_a_reader(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    article = make_article(source=make_source())
    url = reverse("article", args=[article.id])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    client.force_login(make_editor())
    assert client.get(url).status_code == 200
