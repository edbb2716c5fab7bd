"""Storing a poll's items: bulk, idempotent, edits re-translated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.ingest.parse import ParsedItem
from newsdesk.ingest.store import UpsertOutcome, article_upsert, articles_upsert
from newsdesk.models import Article, Source, TranslationStatus

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 2, 9, 12, 0, tzinfo=UTC)


def _items(n: int, *, start: int = 0, suffix: str = "") -> list[ParsedItem]:
    return [
        ParsedItem(
            dedupe_key=f"guid-{i}",
            title=f"Title {i}{suffix}",
            url=f"https://example.org/{i}",
            summary=f"Summary {i}",
            language="es",
            published_at=NOW - timedelta(minutes=i),
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def source():
    return Source.objects.create(name="S", url="https://example.org/feed.xml", country="MX", language="es")


def test_storing_twice_creates_no_duplicates(source):
    first = articles_upsert(source=source, items=_items(50), now=NOW)
    again = articles_upsert(source=source, items=_items(50), now=NOW)
    assert (first.new, first.updated, first.unchanged) == (50, 0, 0)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 50)
    assert Article.objects.filter(source=source).count() == 50
    assert sorted(first.to_enrich) == sorted(Article.objects.values_list("id", flat=True))
    assert again.to_enrich == []
    article = Article.objects.get(dedupe_key="guid-3")
    assert (article.country, article.language, article.title_orig) == ("MX", "es", "Title 3")


def test_a_changed_feed_costs_a_constant_number_of_queries(source, django_assert_max_num_queries):
    """One SELECT for the batch's keys and one INSERT for its new items,
    whatever the feed's length (plus savepoints)."""
    articles_upsert(source=source, items=_items(50), now=NOW)
    with django_assert_max_num_queries(6):
        counts = articles_upsert(source=source, items=_items(5, start=100) + _items(45), now=NOW)
    assert (counts.new, counts.unchanged) == (5, 45)
    assert Article.objects.filter(source=source).count() == 55


def test_an_edited_item_is_updated_and_translated_again(source):
    articles_upsert(source=source, items=_items(3), now=NOW)
    Article.objects.filter(source=source).update(
        title_en="English", summary_en="English summary", translation_status=TranslationStatus.DONE
    )
    counts = articles_upsert(source=source, items=_items(1, suffix=" (corrected)") + _items(2, start=1), now=NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 2)
    edited = Article.objects.get(dedupe_key="guid-0")
    assert counts.to_enrich == [edited.id]
    assert edited.title_orig == "Title 0 (corrected)"
    assert (edited.title_en, edited.summary_en) == ("", "")
    assert edited.translation_status == TranslationStatus.PENDING
    untouched = Article.objects.get(dedupe_key="guid-1")
    assert untouched.translation_status == TranslationStatus.DONE and untouched.title_en == "English"
    assert Article.objects.filter(source=source).count() == 3


def test_repeated_key_within_a_feed_is_stored_once(source):
    items = _items(2) + _items(1, suffix=" dup")
    counts = articles_upsert(source=source, items=items, now=NOW)
    assert counts.new == 2
    assert Article.objects.get(dedupe_key="guid-0").title_orig == "Title 0"


def test_future_and_undated_items_are_dated_when_seen(source):
    future = ParsedItem(dedupe_key="f", title="Future", published_at=NOW + timedelta(days=3))
    undated = ParsedItem(dedupe_key="u", title="Undated")
    articles_upsert(source=source, items=[future, undated], now=NOW)
    assert set(Article.objects.values_list("published_at", flat=True)) == {NOW}


def test_single_item_upsert_reports_outcomes(source):
    item = _items(1)[0]
    assert article_upsert(source=source, item=item, now=NOW)[0] is UpsertOutcome.CREATED
    assert article_upsert(source=source, item=item, now=NOW)[0] is UpsertOutcome.UNCHANGED
    item.summary = "changed"
    assert article_upsert(source=source, item=item, now=NOW)[0] is UpsertOutcome.UPDATED


def test_an_item_whose_content_alone_changed_is_stored_but_not_enriched_again(source):
    """Only new text costs: a re-sent item with the same title and summary
    (a new image, a tracking link) keeps its language, translation and story."""
    articles_upsert(source=source, items=_items(3), now=NOW)
    Article.objects.filter(source=source).update(title_en="English", translation_status=TranslationStatus.DONE)
    resent = _items(3)
    resent[0].content = "<p>Now with a photo</p>"
    resent[1].content = '<p><a href="https://example.org/1?utm_source=rss">Read more</a></p>'
    counts = articles_upsert(source=source, items=resent, now=NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 2, 1)
    assert counts.to_enrich == [] and counts.enrich_keys == set()
    revised = Article.objects.get(dedupe_key="guid-0")
    assert revised.content_orig == "<p>Now with a photo</p>"
    assert (revised.translation_status, revised.title_en) == (TranslationStatus.DONE, "English")
    assert "utm_source" in Article.objects.get(dedupe_key="guid-1").content_orig
    outcome, _ = article_upsert(source=source, item=_items(1, suffix="")[0], now=NOW)
    assert outcome is UpsertOutcome.REVISED  # the one-item path agrees (content back to empty)


def test_a_changed_title_or_summary_is_enriched_again_once(source):
    articles_upsert(source=source, items=_items(3), now=NOW)
    resent = _items(3)
    resent[2].summary = "Summary 2, updated at noon"
    counts = articles_upsert(source=source, items=resent, now=NOW)
    article = Article.objects.get(dedupe_key="guid-2")
    assert counts.to_enrich == [article.id] and counts.enrich_keys == {"guid-2"}
    assert article.translation_status == TranslationStatus.PENDING
    again = articles_upsert(source=source, items=resent, now=NOW)
    assert again.to_enrich == [] and again.unchanged == 3
