"""The story page and its RSS: headline, members, breakdown charts, timeline, evidence, merges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from lxml import etree, html

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.models import Source, Story, TranslationStatus
from tests.support.coverage import QUAKE, T0, make_article, spanish_quake


def css(el, selector: str) -> list:
    """tag.class (or tag) descendants, without the cssselect package."""
    tag, _, cls = selector.partition(".")
    cond = f'[contains(concat(" ", normalize-space(@class), " "), " {cls} ")]' if cls else ""
    return el.xpath(f".//{tag or '*'}{cond}")


def _minerals_story() -> Story:
    """A one-member story: El Financiero's Spanish headline, translated to English."""
    source = Source.objects.create(name="El Financiero", country="MX", language="es")
    article = make_article(
        title="Los minerales críticos no deben negociarse por separado",
        title_en="Critical minerals should not be negotiated separately",
        language="es",
        source=source,
        status=TranslationStatus.DONE,
    )
    return article_assign_story(article=article)


@pytest.fixture
def story(db) -> Story:
    bbc = Source.objects.create(name="BBC", country="GB", language="en")
    made = None
    for i, (t, s) in enumerate(QUAKE):
        made = article_assign_story(
            article=make_article(title=t, summary=s, at=T0 + timedelta(hours=i), source=bbc if i < 2 else None)
        )
    spanish = spanish_quake(
        title_en="Magnitude 7.1 earthquake shakes Sumatra; tsunami alert",
        status=TranslationStatus.DONE,
        at=T0 + timedelta(hours=5),
    )
    spanish.summary_en = "A 7.1 quake hit Sumatra."
    spanish.save()
    assert article_assign_story(article=spanish).id == made.id
    return Story.objects.get(id=made.id)


def test_page_lists_every_member_as_a_dashboard_card(client, story):
    """Each member is the dashboard's own card: time, flag with the country's name, outlet,
    original language, the English headline with the original at hand, the summary and a link."""
    resp = client.get(reverse("story", args=[story.pk]))
    assert resp.status_code == 200
    doc = html.fromstring(resp.content)
    members = css(doc, "li.member")
    assert len(members) == 4
    spanish = members[-1]
    assert css(spanish, "article.card")
    assert css(spanish, "time")[0].get("datetime").startswith("2026-03-01T17:00")
    assert "🇲🇽" in spanish.text_content() and "Mexico" in spanish.text_content()
    assert "(ES)" in spanish.text_content()
    assert css(spanish, "h2.headline")[0].text == "Magnitude 7.1 earthquake shakes Sumatra; tsunami alert"
    assert css(spanish, "p.summary")[0].text == "A 7.1 quake hit Sumatra."
    assert "Terremoto de magnitud" in css(spanish, "p.orig-title")[0].text
    assert css(spanish, "a.original-link")[0].get("href").startswith("https://example.org/")
    # The story page is the coverage: its cards do not link back to it.
    assert not css(doc, "a.coverage")


def test_page_has_a_back_link_and_the_english_headline_with_the_original_at_hand(client, db):
    """The h1 is the first translated member's English title, its original beside it."""
    story = _minerals_story()
    doc = html.fromstring(client.get(reverse("story", args=[story.pk])).content)
    back = css(doc, "p.back")[0].find("a")
    assert back.get("href") == reverse("dashboard")
    assert doc.findtext(".//h1") == "Critical minerals should not be negotiated separately"
    original = css(doc, "p.story-original")[0]
    assert "Original (Spanish):" in original.text_content()
    assert original.xpath(".//span[@lang='es']")[0].text == "Los minerales críticos no deben negociarse por separado"


def test_a_story_with_one_outlet_says_nobody_else_reported_it(client, db):
    article = make_article(title="Local council approves the new tram line", source=None)
    story = article_assign_story(article=article)
    doc = html.fromstring(client.get(reverse("story", args=[story.pk])).content)
    empty = css(doc, "p.empty-state")
    assert empty and "No other outlet has reported this yet" in empty[0].text_content()
    assert not css(doc, "figure.coverage-chart")  # one bar per chart says nothing
    assert len(css(doc, "li.member")) == 1


def test_a_story_with_several_outlets_has_no_empty_state(client, story):
    doc = html.fromstring(client.get(reverse("story", args=[story.pk])).content)
    assert not css(doc, "p.empty-state")


def test_hover_shows_the_evidence_of_each_link(client, story):
    doc = html.fromstring(client.get(reverse("story", args=[story.pk])).content)
    first, second = css(doc, "li.member")[:2]
    assert first.get("title") is None  # it started the story
    tip = second.get("title")
    # Words as the article wrote them, not the clustering's folded stems.
    assert (
        tip.startswith("Linked with score 0.") and "Sumatra" in tip and "sumatr," not in tip and "shared names:" in tip
    )


def test_chart_labels_are_html_text_not_scaled_svg(client, story):
    """Labels and counts are page text (readable at any width); SVG draws only bars and dots."""
    resp = client.get(reverse("story", args=[story.pk]))
    doc = html.fromstring(resp.content)
    assert not doc.xpath("//script[not(@src)]")
    assert not doc.xpath("//svg//text")
    figures = {f.findtext("figcaption").split(" (")[0]: f for f in css(doc, "figure.coverage-chart")}
    assert set(figures) == {"Outlets", "Countries", "Languages", "When each outlet published"}
    rows = css(figures["Countries"], "li.chart-row")
    labels = [css(r, "span.bar-label")[0].text for r in rows]
    assert labels == ["🇬🇧 United Kingdom", "🇲🇽 Mexico"]
    widths = {r.findtext("title"): int(r.get("width")) for r in css(figures["Countries"], "rect.bar")}
    assert widths == {"🇬🇧 United Kingdom: 3": 300, "🇲🇽 Mexico: 1": 100}
    languages = [css(r, "span.bar-label")[0].text for r in css(figures["Languages"], "li.chart-row")]
    assert languages == ["English", "Spanish"]
    outlets = [r.findtext("title") for r in css(figures["Outlets"], "rect.bar")]
    assert outlets[0] == "BBC: 2" and len(outlets) == 3
    dots = css(figures["When each outlet published"], "line.dot")
    xs = sorted(int(d.get("x1")) for d in dots)
    assert len(dots) == 4 and xs[0] == 0 and xs[-1] == 300  # first and last publication at the ends
    assert "3 outlets" in css(doc, "p.breakdown")[0].text_content()


def test_story_rss_lists_its_members_newest_first(client, story):
    resp = client.get(reverse("story-rss", args=[story.pk]))
    assert resp.status_code == 200
    root = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
    channel = root.find("channel")
    assert channel.findtext("title") == f"Newsdesk story — {QUAKE[0][0]}"
    titles = [i.findtext("title") for i in channel.findall("item")]
    assert titles[0] == "Magnitude 7.1 earthquake shakes Sumatra; tsunami alert"
    assert len(titles) == 4


def test_merged_story_redirects_to_the_survivor(client, story):
    gone = Story.objects.create(headline="old", merged_into=story)
    resp = client.get(reverse("story", args=[gone.pk]))
    assert resp.status_code == 301 and resp["Location"] == reverse("story", args=[story.pk])
    rss = client.get(reverse("story-rss", args=[gone.pk]))
    assert rss.status_code == 200 and b"Sumatra" in rss.content


def test_unknown_story_is_404(client, db):
    assert client.get(reverse("story", args=[999999])).status_code == 404
    assert client.get(reverse("story-rss", args=[999999])).status_code == 404


def test_back_link_returns_to_the_filtered_view_the_reader_came_from(client, story):
    url = reverse("story", args=[story.pk])
    came_from = "http://testserver/?country=MX&lang=es&sort=covered"
    doc = html.fromstring(client.get(url, HTTP_REFERER=came_from).content)
    assert css(doc, "p.back")[0].find("a").get("href") == "/?country=MX&lang=es&sort=covered"
    # Another site's address, or another page of ours, is never a back link.
    for elsewhere in ("https://evil.example/?country=MX", "http://testserver/stats/"):
        doc = html.fromstring(client.get(url, HTTP_REFERER=elsewhere).content)
        assert css(doc, "p.back")[0].find("a").get("href") == "/"


def test_story_feed_title_is_the_english_headline(client, db):
    story = _minerals_story()
    Story.objects.filter(id=story.id).update(headline="Los minerales críticos no deben negociarse por separado")
    root = etree.fromstring(client.get(reverse("story-rss", args=[story.pk])).content)
    assert root.findtext("channel/title") == "Newsdesk story — Critical minerals should not be negotiated separately"
