"""The English feeds publish finished articles only, by one rule in RSS, Atom and JSON Feed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from newsdesk.accounts import desks, tokens
from newsdesk.enrich.finished import articles_release_held
from newsdesk.models import Article, TranslationStatus
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source, make_story

pytestmark = pytest.mark.django_db
NS = {"nd": "urn:x-newsdesk:feed:1", "atom": "http://www.w3.org/2005/Atom"}
HOLD = 600


@pytest.fixture(autouse=True)
def hold(settings):
    settings.NEWSDESK_FEED_HOLD_SECONDS = HOLD


def _xml(content: bytes):
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def items_of(client, rss: str, atom: str, json_feed: str, **headers) -> dict[str, dict[str, tuple[str, str]]]:
    """guid -> (title, translation marker element) as each format shows it."""
    out = {}
    doc = _xml(client.get(rss).content)
    out["rss"] = {
        i.findtext("guid"): (i.findtext("title"), i.findtext("nd:translation", namespaces=NS) or "")
        for i in doc.iter("item")
    }
    doc = _xml(client.get(atom).content)
    out["atom"] = {
        e.findtext("atom:id", namespaces=NS): (
            e.findtext("atom:title", namespaces=NS),
            e.findtext("nd:translation", namespaces=NS) or "",
        )
        for e in doc.iterfind("atom:entry", NS)
    }
    data = json.loads(client.get(json_feed).content)
    out["json"] = {i["id"]: (i["title"], i["_newsdesk"].get("translation", "")) for i in data["items"]}
    return out


def dashboard_items(client, query: str = ""):
    return items_of(client, *(reverse(f"feed-{f}") + query for f in ("rss", "atom", "json")))


def stored_ago(article: Article, seconds: int) -> None:
    """As if the article had been stored (and last written) ``seconds`` ago."""
    moment = timezone.now() - timedelta(seconds=seconds)
    Article.objects.filter(pk=article.pk).update(fetched_at=moment, updated_at=moment)


def guid(article: Article) -> str:
    return f"newsdesk-article-{article.id}"


@pytest.fixture
def mixed():
    """One article in each state, with the hold running or over."""
    src = make_source(name="Folha", country="BR", language="pt")
    untranslated = {"title_en": "", "summary_en": "", "title_orig": "Título em português"}
    made = {
        "done": make_article(source=src, title_en="Translated headline", minutes_ago=1),
        "english": make_article(
            source=make_source(country="GB", language="en"), title_en="English headline",
            status=TranslationStatus.NOT_NEEDED, minutes_ago=2,
        ),
        "failed": make_article(source=src, status=TranslationStatus.FAILED, minutes_ago=3, **untranslated),
        "fresh": make_article(source=src, status=TranslationStatus.PENDING, minutes_ago=4, **untranslated),
        "held_over": make_article(source=src, status=TranslationStatus.PENDING, minutes_ago=5, **untranslated),
    }  # fmt: skip
    stored_ago(made["held_over"], HOLD + 60)
    return made


def test_one_rule_in_rss_atom_and_json(client, mixed):
    """Finished items only; failed and held-over ones carry their original text and a marker."""
    expected = {
        guid(mixed["done"]): ("Translated headline", ""),
        guid(mixed["english"]): ("English headline", ""),
        guid(mixed["failed"]): ("[Translation failed, PT] Título em português", "failed"),
        guid(mixed["held_over"]): ("[Not translated yet, PT] Título em português", "pending"),
    }
    for fmt, items in dashboard_items(client).items():
        assert items == expected, fmt


def test_the_dashboard_still_shows_everything(client, mixed):
    """The hold is the feeds' rule: editors see the fresh pending article on its card at once."""
    assert b"T\xc3\xadtulo em portugu\xc3\xaas" in client.get(reverse("article", args=[mixed["fresh"].id])).content
    page = client.get(reverse("dashboard")).content.decode()
    assert f'data-article="{mixed["fresh"].id}"' in page


def test_story_and_saved_view_feeds_follow_the_same_rule(client, mixed):
    story = make_story(sources=2)
    Article.objects.filter(pk__in=[mixed["done"].pk, mixed["fresh"].pk]).update(story=story)
    assert list(_xml(client.get(reverse("story-rss", args=[story.id])).content).iter("guid")) != []
    story_guids = [g.text for g in _xml(client.get(reverse("story-rss", args=[story.id])).content).iter("guid")]
    assert story_guids == [guid(mixed["done"])]

    view = desks.saved_view_create(owner=make_editor(), name="Brazil", query="country=BR")
    _, token = tokens.feed_token_rotate(owner=view.owner, pk=view.pk)
    urls = [reverse(f"desk-feed-{f}", kwargs={"token": token}) for f in ("rss", "atom", "json")]
    for fmt, items in items_of(client, *urls).items():
        assert sorted(items) == sorted(guid(mixed[k]) for k in ("done", "failed", "held_over")), fmt


def test_a_hold_of_zero_publishes_pending_items_at_once(client, settings, mixed):
    settings.NEWSDESK_FEED_HOLD_SECONDS = 0
    for items in dashboard_items(client).values():
        assert items[guid(mixed["fresh"])] == ("[Not translated yet, PT] Título em português", "pending")


def test_a_release_reaches_a_revalidating_reader(client, mixed):
    """The hold ends with no write: the release touch moves the version, so the memoized 304 ends."""
    fresh = mixed["fresh"]
    first = client.get(reverse("feed-rss"))
    assert guid(fresh).encode() not in first.content
    assert client.get(reverse("feed-rss"), headers={"If-None-Match": first["ETag"]}).status_code == 304
    stored_ago(fresh, HOLD + 1)  # the hold ended (a queryset update: the version moved, as time would not)
    Article.objects.filter(pk=fresh.pk).update(updated_at=fresh.fetched_at)  # ...and nothing touched it since
    assert articles_release_held(now=timezone.now()) == 1
    assert articles_release_held(now=timezone.now()) == 0  # touched once: a repeat changes nothing
    after = client.get(reverse("feed-rss"), headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200
    assert guid(fresh).encode() in after.content
    released = Article.objects.get(pk=fresh.pk)
    assert released.updated_at > released.fetched_at + timedelta(seconds=HOLD)


def test_release_touches_only_held_over_articles_once(mixed):
    before = dict(Article.objects.values_list("id", "updated_at"))
    assert articles_release_held(now=timezone.now()) == 1  # held_over, never touched since its hold ended
    after = dict(Article.objects.values_list("id", "updated_at"))
    assert {k for k in before if before[k] != after[k]} == {mixed["held_over"].id}
    assert articles_release_held(now=timezone.now()) == 0


def test_a_late_translation_rewrites_the_item_in_place(client, mixed):
    held = mixed["held_over"]
    before = dashboard_items(client)
    Article.objects.filter(pk=held.pk).update(
        title_en="Headline in English", translation_status=TranslationStatus.DONE, updated_at=timezone.now()
    )
    after = dashboard_items(client)
    for fmt in before:
        assert list(before[fmt]) == list(after[fmt]), fmt  # same guids, same order
        assert after[fmt][guid(held)] == ("Headline in English", ""), fmt


def test_beat_runs_the_release(settings):
    from newsdesk import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["release-held-articles"]
    assert entry["task"] == tasks.release_held_articles.name
    assert entry["schedule"] <= 60
