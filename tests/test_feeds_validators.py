"""Feed 304s from a memoized validator: no article query on a repeat, never stale after a write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from newsdesk import changes
from newsdesk.accounts import desks, tokens
from newsdesk.ingest.parse import ParsedItem
from newsdesk.ingest.store import articles_upsert
from newsdesk.models import Article, SavedView, Story, TranslationStatus
from tests.support.accounts import make_editor
from tests.support.articles import BASE_TIME, make_article, make_source, make_story

pytestmark = pytest.mark.django_db

FORMATS = ["feed-rss", "feed-atom", "feed-json"]
MX = {"country": "MX"}


def _get(client, name, params=None, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(reverse(name), params or {}, headers=headers)


def _version() -> int:
    return cache.get(changes.VERSION_KEY)


@pytest.fixture
def mexico():
    source = make_source(country="MX")
    made = source, make_article(source=source), make_article(source=source, minutes_ago=5)
    # Written a minute ago: a Last-Modified of the current second is not sent (ConditionalGet.finish).
    Article.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
    return made


@pytest.mark.parametrize("name", FORMATS)
def test_a_repeat_answers_304_without_any_query(client, mexico, django_assert_num_queries, name):
    etag = _get(client, name, MX).headers["ETag"]
    with django_assert_num_queries(0):
        again = _get(client, name, MX, etag)
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert "max-age=" in again.headers["Cache-Control"]
    assert again.headers["Last-Modified"]


def test_if_modified_since_is_also_answered_from_the_memo(client, mexico, django_assert_num_queries):
    modified = _get(client, "feed-rss", MX).headers["Last-Modified"]
    with django_assert_num_queries(0):
        again = client.get(reverse("feed-rss"), MX, headers={"If-Modified-Since": modified})
    assert again.status_code == 304


@pytest.mark.parametrize("name", FORMATS)
def test_a_changed_article_in_the_view_gives_200_and_a_new_etag(client, mexico, name):
    _, article, _ = mexico
    etag = _get(client, name, MX).headers["ETag"]
    assert _get(client, name, MX, etag).status_code == 304  # memoized
    article.title_en = "Lithium deal signed"
    article.save()
    changed = _get(client, name, MX, etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert b"Lithium deal signed" in changed.content


def test_a_change_outside_the_view_still_gives_304_after_one_recompute(client, mexico, django_assert_num_queries):
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    before = _version()
    make_article(source=make_source(country="FR", language="fr"))
    assert _version() != before  # the write moved the version...
    with django_assert_num_queries(1):  # ...so the validator is computed again, once
        assert _get(client, "feed-rss", MX, etag).status_code == 304
    with django_assert_num_queries(0):  # and memoized under the new version
        assert _get(client, "feed-rss", MX, etag).status_code == 304


def test_a_new_article_in_the_view_gives_200(client, mexico):
    source, _, _ = mexico
    etag = _get(client, "feed-atom", MX).headers["ETag"]
    assert _get(client, "feed-atom", MX, etag).status_code == 304
    make_article(source=source, title_en="Fresh copper news", published_at=BASE_TIME + timedelta(minutes=1))
    fresh = _get(client, "feed-atom", MX, etag)
    assert fresh.status_code == 200
    assert b"Fresh copper news" in fresh.content


def test_a_deleted_article_gives_200(client, mexico):
    _, article, _ = mexico
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    assert _get(client, "feed-rss", MX, etag).status_code == 304
    title = article.title_en.encode()
    Article.objects.filter(id=article.id).first().delete()
    gone = _get(client, "feed-rss", MX, etag)
    assert gone.status_code == 200
    assert gone.content.count(title) == 1  # the other Mexican article is still there


def test_bulk_ingest_moves_the_version(client, mexico, settings):
    settings.NEWSDESK_FEED_HOLD_SECONDS = 0  # the new article is pending: published at once
    source, _, _ = mexico
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    assert _get(client, "feed-rss", MX, etag).status_code == 304
    item = ParsedItem(
        dedupe_key="bulk-1", title="Bulk stored headline", url="https://example.org/bulk-1", summary="s",
        language="es", published_at=BASE_TIME + timedelta(minutes=2),
    )  # fmt: skip
    assert articles_upsert(source=source, items=[item]).new == 1
    fresh = _get(client, "feed-rss", MX, etag)
    assert fresh.status_code == 200
    assert b"Bulk stored headline" in fresh.content


def test_a_translation_reset_by_queryset_update_gives_200(client, mexico):
    """QuerySet.update sends no signal: the queryset itself moves the version (FeedShownQuerySet)."""
    _, article, _ = mexico
    params = {**MX, "status": "done"}
    etag = _get(client, "feed-rss", params).headers["ETag"]
    assert _get(client, "feed-rss", params, etag).status_code == 304
    Article.objects.filter(id=article.id).update(translation_status=TranslationStatus.PENDING)
    assert _get(client, "feed-rss", params, etag).status_code == 200


def test_story_coverage_reaching_the_threshold_enters_the_view(client, mexico):
    _, article, _ = mexico
    story = make_story(sources=2)
    Article.objects.filter(id=article.id).update(story=story)
    changes.articles_changed()
    params = {"coverage": "3"}
    etag = _get(client, "feed-rss", params).headers["ETag"]
    assert _get(client, "feed-rss", params, etag).status_code == 304
    with connection.cursor() as cursor:  # raw counter update, as coverage's one-statement path does
        table = connection.ops.quote_name(Story._meta.db_table)
        cursor.execute(f"UPDATE {table} SET source_count = 3 WHERE id = %s", [story.id])  # noqa: S608
    assert _get(client, "feed-rss", params, etag).status_code == 304  # no bump: nothing told the feeds
    story.source_count = 3
    story.save()  # a model save bumps through the signal
    entered = _get(client, "feed-rss", params, etag)
    assert entered.status_code == 200
    assert article.title_en.encode() in entered.content


@pytest.mark.parametrize("name", FORMATS)
def test_a_coverage_change_in_an_item_gives_200_to_a_repeat(client, mexico, name):
    """A story gaining an outlet changes its members' items ("Similar Coverage (N)")
    without touching the articles: the old ETag and Last-Modified must not match."""
    _, article, _ = mexico
    story = make_story(sources=2)
    Article.objects.filter(id=article.id).update(story=story)
    Article.objects.update(updated_at=BASE_TIME)  # the articles were last edited long ago
    Story.objects.filter(id=story.id).update(updated_at=BASE_TIME)
    changes.articles_changed()
    first = _get(client, name, MX)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert _get(client, name, MX, etag).status_code == 304
    story.source_count = 3
    story.save()  # as coverage does: the counter and the story's update time move together
    again = _get(client, name, MX, etag)
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert b"3" in again.content
    since = client.get(reverse(name), MX, headers={"If-Modified-Since": modified})
    assert since.status_code == 200, "Last-Modified follows the story too"


def test_an_outlet_rename_gives_200_to_a_repeat(client, mexico):
    source, _, _ = mexico
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    source.name = "Renamed Outlet"
    source.save(update_fields=["name"])  # bumps the version through the signal
    again = _get(client, "feed-rss", MX, etag)
    assert again.status_code == 200
    assert b"Renamed Outlet" in again.content


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_version_moves_again_on_commit():
    source = make_source(country="MX")
    start = _version()
    with transaction.atomic():
        make_article(source=source)
        make_article(source=source)
        during = _version()
        assert during != start  # bumped at the write...
        assert [f for _, f, _ in connection.run_on_commit].count(changes._after_commit) == 1  # ...and on commit
    assert _version() != during


@pytest.mark.django_db(transaction=True)
def test_a_story_assignment_moves_the_version_once_at_commit_and_its_feed_changes():
    from newsdesk.coverage.cluster import article_assign_story

    source = make_source(country="MX")
    article = make_article(source=source)
    start = _version()
    with transaction.atomic():
        article_assign_story(article=article)
        during = _version()
    assert _version() != during  # moved after the commit, when readers can see the story
    if connection.vendor == "postgresql":
        # The one-statement path sends no model signals: one bump, at commit.
        assert during == start and _version() == start + 1


def test_a_rolled_back_transaction_still_registers_the_commit_bump_next_time(mexico):
    source, _, _ = mexico
    with transaction.atomic():
        sid = transaction.savepoint()
        make_article(source=source)
        transaction.savepoint_rollback(sid)
        make_article(source=source)
        assert [f for _, f, _ in connection.run_on_commit].count(changes._after_commit) == 1


def test_a_lost_version_key_restarts_elsewhere_and_invalidates_memos(client, mexico, django_assert_num_queries):
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    cache.delete(changes.VERSION_KEY)
    with django_assert_num_queries(1):
        assert _get(client, "feed-rss", MX, etag).status_code == 304
    with django_assert_num_queries(0):
        assert _get(client, "feed-rss", MX, etag).status_code == 304


def test_source_saves_that_feeds_do_not_show_leave_the_version(mexico):
    source, _, _ = mexico
    before = _version()
    source.last_error = "timeout"
    source.save(update_fields=["last_error"])
    assert _version() == before
    source.name = "Renamed outlet"
    source.save(update_fields=["name"])
    assert _version() != before


def test_with_the_cache_down_feeds_compute_their_validators(client, mexico, cache_down, django_assert_num_queries):
    _, article, _ = mexico
    first = _get(client, "feed-rss", MX)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    with django_assert_num_queries(1):
        assert _get(client, "feed-rss", MX, etag).status_code == 304
    article.title_en = "Changed while the cache was down"
    article.save()  # the bump fails quietly; the write stands
    assert Article.objects.get(id=article.id).title_en == "Changed while the cache was down"
    changed = _get(client, "feed-rss", MX, etag)
    assert changed.status_code == 200
    assert b"Changed while the cache was down" in changed.content


def test_a_token_feed_follows_its_saved_views_filter(client, settings, mexico):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    make_article(source=make_source(country="ES", name="El País"), title_en="Madrid housing vote")
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    url = reverse("desk-feed-rss", kwargs={"token": raw})
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    SavedView.objects.filter(id=view.id).update(query="country=ES")  # no article changed
    spain = client.get(url, headers={"If-None-Match": etag})
    assert spain.status_code == 200
    assert b"Madrid housing vote" in spain.content


def test_other_cache_backends_use_the_generic_path(client, settings, mexico, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, article, _ = mexico
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    with django_assert_num_queries(0):
        assert _get(client, "feed-rss", MX, etag).status_code == 304
    article.title_en = "Changed under locmem"
    article.save()
    assert _get(client, "feed-rss", MX, etag).status_code == 200


def test_the_kept_redis_client_reads_what_the_cache_api_wrote(mexico):
    cache.set("feeds:validator:probe", (7, '"etag"', 123))
    version, memo = changes.versioned_get("feeds:validator:probe")
    assert version == cache.get(changes.VERSION_KEY)
    assert memo == (7, '"etag"', 123)
    assert changes.versioned_get("feeds:validator:absent")[1] is None


def test_parameters_the_filter_drops_or_reorders_share_one_validator(client, mexico, django_assert_num_queries):
    etag = _get(client, "feed-rss", {"country": "MX", "lang": "es"}).headers["ETag"]
    same = client.get(reverse("feed-rss") + "?lang=es&utm_source=x&country=MX&sort=bogus")
    assert same.headers["ETag"] == etag
    with django_assert_num_queries(0):
        again = client.get(reverse("feed-rss") + "?utm_source=y&lang=es&country=MX", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert _get(client, "feed-rss", {"country": "MX"}).headers["ETag"] != etag  # another view
    assert _get(client, "feed-atom", {"country": "MX", "lang": "es"}).headers["ETag"] != etag  # another format


def test_a_bump_after_the_counter_was_lost_starts_at_a_random_value(client, mexico, django_assert_num_queries):
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    cache.delete(changes.VERSION_KEY)
    changes.articles_changed()
    first = _version()
    assert first > 2**20  # not 1: an old memo stored under a small count can never match
    with django_assert_num_queries(1):  # the memo's version is gone: computed again
        assert _get(client, "feed-rss", MX, etag).status_code == 304
    changes.articles_changed()
    assert _version() == first + 1


def _header_set(response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


@pytest.mark.parametrize("name", FORMATS)
def test_a_repeat_is_answered_before_session_and_auth_with_the_same_headers(client, settings, mexico, name):
    etag = _get(client, name, MX).headers["ETag"]
    early = _get(client, name, MX, etag)
    assert early.status_code == 304
    assert not hasattr(early.wsgi_request, "session") and not hasattr(early.wsgi_request, "user")
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("FeedRevalidationMiddleware")]
    from django.test import Client

    whole = _get(Client(), name, MX, etag)
    assert whole.status_code == 304 and hasattr(whole.wsgi_request, "session")
    # The whole stack's CommonMiddleware adds "Content-Length: 0", the size of the
    # empty 304 rather than of the representation (RFC 9110 8.6); the early answer omits it.
    assert _header_set(early) == {k: v for k, v in _header_set(whole).items() if k != "content-length"}
    assert {"x-content-type-options", "x-frame-options", "etag", "cache-control"} <= set(_header_set(early))


def test_a_private_desk_checks_the_reader_before_any_304(client, settings, mexico):
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    assert _get(client, "feed-rss", MX, etag).status_code == 401


def test_a_repeat_with_a_foreign_host_is_refused_as_before(client, mexico):
    etag = _get(client, "feed-rss", MX).headers["ETag"]
    response = client.get(reverse("feed-rss"), MX, headers={"If-None-Match": etag}, HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_a_repeat_the_memo_cannot_answer_reads_the_cache_once(client, mexico, monkeypatch):
    from newsdesk.web.feeds import conditional

    etag = _get(client, "feed-rss", MX).headers["ETag"]
    make_article(source=mexico[0], minutes_ago=1)  # a new article in the view: the version moves
    reads = []
    real = conditional.versioned_get
    monkeypatch.setattr(conditional, "versioned_get", lambda key: reads.append(key) or real(key))
    response = _get(client, "feed-rss", MX, etag)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert len(reads) == 1, "the middleware's read is reused by the view"
    assert hasattr(response.wsgi_request, "session"), "answered by the whole stack"


def test_if_modified_since_cannot_hide_a_second_change_in_the_same_second(client, mexico):
    """A reader revalidating with If-Modified-Since alone must see a change made in the second it last fetched."""
    _, article, _ = mexico
    Article.objects.filter(id=article.id).update(title_en="Changed", updated_at=timezone.now())
    first = _get(client, "feed-rss", MX)
    assert "Last-Modified" not in first  # its second is not over: the ETag alone revalidates it
    assert _get(client, "feed-rss", MX, first["ETag"]).status_code == 304
    Article.objects.filter(id=article.id).update(title_en="Changed again", updated_at=timezone.now())
    again = _get(client, "feed-rss", MX, first["ETag"])
    assert again.status_code == 200 and b"Changed again" in again.content
