"""From stored article to finished card (newsdesk/flow.py): batches, retries
of the failed article alone, only new text queued, fair lanes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from newsdesk.flow import BULK_QUEUE, FRESH_QUEUE, articles_finish, enrich_batches_plan
from newsdesk.models import Article, CoverageDoc, Source, TranslationStatus
from tests.support.articles import make_article, make_source
from tests.support.http import Response
from tests.support.worker import celery_worker, wait_for

ENGLISH = [
    ("Earthquake of magnitude 6.1 shakes southern Peru", "Buildings swayed in Arequipa and Tacna as the quake hit."),
    ("Central bank raises interest rates by half a point", "The bank said inflation had stayed above its target."),
    ("Wildfire forces thousands to flee homes in Portugal", "Firefighters battled flames near Leiria overnight."),
    ("Parliament approves new budget after long debate", "Lawmakers voted 212 to 190 in favour of the plan."),
]


def _english(source: Source, n: int, **extra) -> Article:
    title, summary = ENGLISH[n % len(ENGLISH)]
    return make_article(
        source=source,
        title_orig=f"{title} ({n})",
        summary_orig=summary,
        title_en="",
        summary_en="",
        status=TranslationStatus.PENDING,
        language="en",
        **extra,
    )


def _messages(queue: str) -> list[list[int]]:
    """The article ids of each enrichment message waiting in ``queue``."""
    from newsdesk.ops.celery_hooks import _client

    out = []
    for raw in reversed(_client().lrange(queue, 0, -1)):  # kombu pushes at the head
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        out.append(body[0][0])
    return out


def _purge() -> None:
    from config.celery import app

    app.control.purge()


# --- The plan of lanes ---------------------------------------------------------------


def test_plan_puts_each_sources_first_batch_in_the_fresh_lane_and_interleaves_bursts():
    plan = enrich_batches_plan(by_source={1: list(range(100, 150)), 2: [7], 3: list(range(300, 325))}, batch_size=20)
    fresh = [ids for queue, ids in plan if queue == FRESH_QUEUE]
    bulk = [ids for queue, ids in plan if queue == BULK_QUEUE]
    assert fresh == [list(range(100, 120)), [7, *range(300, 319)], [319]]
    # Source 1's second batch, then source 3's remainder, then source 1's third.
    assert bulk == [list(range(120, 140)), list(range(319, 325))[1:], list(range(140, 150))]
    assert sorted(i for _, ids in plan for i in ids) == sorted([*range(100, 150), 7, *range(300, 325)])


def test_plan_of_nothing_sends_nothing():
    assert enrich_batches_plan(by_source={1: [], 2: []}, batch_size=20) == []


# --- Only new text costs, at the queue ----------------------------------------------------


def _json_feed(items: list[dict]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": items}).encode()


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_resent_item_queues_no_enrichment_and_a_changed_one_queues_once(feed_server):
    from newsdesk.tasks import poll_sources

    _purge()
    now = timezone.now()
    items = [
        {
            "id": f"i-{n}",
            "url": f"https://example.org/{n}",
            "title": title,
            "summary": summary,
            "content_html": f"<p>{summary}</p>",
            "date_published": (now - timedelta(hours=n)).isoformat(),
        }
        for n, (title, summary) in enumerate(ENGLISH)
    ]
    state = {"items": items}
    feed_server.route(
        "/f.json", lambda _r: Response(200, _json_feed(state["items"]), {"Content-Type": "application/feed+json"})
    )
    source = Source.objects.create(name="J", url=feed_server.url("/f.json"), language="en")

    def poll() -> list[list[int]]:
        Source.objects.filter(id=source.id).update(next_poll_at=timezone.now())
        poll_sources([source.id])
        sent = _messages(FRESH_QUEUE) + _messages(BULK_QUEUE)
        _purge()
        return sent

    first = poll()
    assert sorted(i for ids in first for i in ids) == sorted(Article.objects.values_list("id", flat=True))
    # The same items again, the body changed (new photos, tracking links): stored, nothing queued.
    state["items"] = [
        dict(i, content_html=i["content_html"] + '<p><img src="https://img.example.org/x.jpg"></p>') for i in items
    ]
    assert poll() == []
    assert Article.objects.filter(content_orig__contains="img.example.org").count() == len(items)
    # A corrected title: that article alone, once.
    state["items"][1] = dict(state["items"][1], title="Central bank raises interest rates by a full point")
    changed = Article.objects.get(dedupe_key__contains="i-1")
    assert poll() == [[changed.id]]
    assert poll() == []


# --- In a real worker ---------------------------------------------------------------------


def _fail_updates_of(article_id: int) -> None:
    """A database trigger that refuses every write to one article (a real per-row failure)."""
    table = Article._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION newsdesk_test_refuse() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER newsdesk_test_refuse BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN (OLD.id = {int(article_id)}) EXECUTE FUNCTION newsdesk_test_refuse()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER newsdesk_test_refuse BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN OLD.id = {int(article_id)} BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )


def _allow_updates() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS newsdesk_test_refuse ON {Article._meta.db_table}")
            cursor.execute("DROP FUNCTION IF EXISTS newsdesk_test_refuse()")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS newsdesk_test_refuse")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_batch_with_one_failing_article_commits_the_others_and_retries_only_that_one():
    from newsdesk.tasks import enrich_enqueue

    source = make_source(language="en", enabled=False)
    articles = [_english(source, n) for n in range(4)]
    bad = articles[2]
    _fail_updates_of(bad.id)
    try:
        _purge()
        enrich_enqueue(by_source={source.id: [a.id for a in articles]})
        assert _messages(FRESH_QUEUE) == [[a.id for a in articles]]  # one batch
        good = [a.id for a in articles if a.id != bad.id]
        with celery_worker(purge=False):
            wait_for(
                lambda: Article.objects.filter(id__in=good, story__isnull=False).count() == 3,
                timeout=90,
                message="the good articles finished",
            )
            first = dict(Article.objects.filter(id__in=good).values_list("id", "updated_at"))
            assert Article.objects.get(id=bad.id).enriched_at is None
            _allow_updates()
            wait_for(
                lambda: Article.objects.filter(id=bad.id, story__isnull=False).exists(),
                timeout=60,
                message="the failed article retried",
            )
    finally:
        _allow_updates()
    # Each article committed exactly once: its neighbours were not enriched again by the retry.
    assert dict(Article.objects.filter(id__in=good).values_list("id", "updated_at")) == first
    assert CoverageDoc.objects.filter(article_id__in=[a.id for a in articles]).count() == 4
    assert set(Article.objects.values_list("translation_status", flat=True)) == {TranslationStatus.NOT_NEEDED}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_source_does_not_starve_another_sources_single_item(settings):
    """Source A's 400 new items are queued first, B's single one after: B's is
    finished after at most a few of A's batches, not after all of them."""
    from newsdesk.tasks import enrich_enqueue

    batch = settings.NEWSDESK_ENRICH_BATCH_SIZE
    a, b = make_source(language="en", enabled=False), make_source(language="en", enabled=False)
    burst = [_english(a, n).id for n in range(400)]
    single = _english(b, 7).id
    _purge()
    enrich_enqueue(by_source={a.id: burst})
    enrich_enqueue(by_source={b.id: [single]})
    with celery_worker(concurrency=1, purge=False):
        wait_for(
            lambda: not Article.objects.filter(enriched_at__isnull=True).exists(),
            timeout=180,
            message="every article enriched",
        )
    single_at = Article.objects.get(id=single).enriched_at
    before = Article.objects.filter(id__in=burst, enriched_at__lt=single_at).count()
    after = Article.objects.filter(id__in=burst, enriched_at__gt=single_at).count()
    assert before <= 3 * batch, f"{before} of the burst went first"
    assert after >= len(burst) - 3 * batch


@pytest.mark.django_db
def test_finish_reports_gone_ids_as_skipped_and_writes_the_rest():
    source = make_source(language="en", enabled=False)
    article = _english(source, 0)
    result = articles_finish(article_ids=[article.id, 999_999])
    assert (result.finished, result.skipped, result.failed) == ([article.id], [999_999], {})
    article.refresh_from_db()
    assert article.story_id is not None and article.translation_status == TranslationStatus.NOT_NEEDED


@pytest.mark.django_db
def test_an_enriched_article_is_logged_once_with_its_assignment_and_a_direct_assignment_still_logs(caplog):
    """Enrichment logs one line per article (``event=enriched``, with the assignment's outcome);
    the assignment called on its own (an editor's move, recluster) keeps its ``event=story_assigned``."""
    import logging

    from newsdesk.coverage.cluster import article_assign_story

    source = make_source(language="en", enabled=False)
    first, second = _english(source, 0), _english(source, 4)  # the same event, worded alike
    with caplog.at_level(logging.INFO):
        result = articles_finish(article_ids=[first.id, second.id])
    assert result.finished == [first.id, second.id]
    lines = [r.getMessage() for r in caplog.records]
    assert not [m for m in lines if m.startswith("event=story_assigned")]
    enriched = [m for m in lines if m.startswith("event=enriched")]
    assert len(enriched) == 2
    second.refresh_from_db()
    assert f"article_id={first.id} " in enriched[0] and "created=True score=None merged=[]" in enriched[0]
    assert f"article_id={second.id} " in enriched[1] and f"story_id={second.story_id} " in enriched[1]
    assert "created=" in enriched[1] and "score=" in enriched[1] and "rescored=0" in enriched[1]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        story = article_assign_story(article=second)
    assigned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("event=story_assigned")]
    assert len(assigned) == 1 and f"article_id={second.id} story_id={story.id} " in assigned[0]


@pytest.mark.django_db(transaction=True)
def test_a_batch_moves_the_feed_version_once_after_its_last_commit(monkeypatch):
    """Each article commits on its own, but the feeds' version (and the WebSub trigger) moves
    once per batch, after the last commit, also when an article in it failed."""
    from newsdesk import changes

    source = make_source(language="en", enabled=False)
    articles = [_english(source, n) for n in range(4)]
    seen: list[int] = []

    def committed() -> None:  # the after-commit bump's listeners: what a reader sees at that moment
        seen.append(Article.objects.filter(id__in=[a.id for a in articles], story__isnull=False).count())

    monkeypatch.setattr(changes, "_committed", committed)
    result = articles_finish(article_ids=[a.id for a in articles])
    assert len(result.finished) == 4
    assert seen == [4]  # once, every article already committed

    more = [_english(source, n) for n in range(4, 7)]
    _fail_updates_of(more[1].id)
    seen.clear()
    try:
        result = articles_finish(article_ids=[a.id for a in more])
    finally:
        _allow_updates()
    assert sorted(result.failed) == [more[1].id] and len(result.finished) == 2
    assert len(seen) == 1


@pytest.mark.django_db
def test_an_article_whose_text_changed_meanwhile_is_skipped_and_its_neighbours_finish(monkeypatch):
    """The enrichment is saved with the story only while the text it came from is still the
    article's (on PostgreSQL checked with the assignment's first read): the changed one gets
    neither, nothing of it is indexed or counted, and its batch-mates finish."""
    from newsdesk import flow
    from newsdesk.coverage.dbwrite import DOC_COUNT_KEY
    from newsdesk.models import CoveragePosting, CoverageTerm

    source = make_source(language="en", enabled=False)
    articles = [_english(source, n) for n in range(3)]
    changed = articles[1].id
    enrich = flow.articles_enrich

    def enrich_then_edit(**kwargs):
        failed = enrich(**kwargs)
        # The feed rewrites the item while its enrichment is in memory.
        Article.objects.filter(id=changed).update(title_orig="Volcano erupts near Naples, villages evacuated")
        return failed

    monkeypatch.setattr(flow, "articles_enrich", enrich_then_edit)
    result = articles_finish(article_ids=[a.id for a in articles])
    assert sorted(result.finished) == [articles[0].id, articles[2].id]
    assert result.skipped == [changed] and result.failed == {}
    row = Article.objects.get(id=changed)
    assert row.title_orig.startswith("Volcano") and row.enriched_at is None and row.story_id is None
    assert row.translation_status == TranslationStatus.PENDING
    assert not CoverageDoc.objects.filter(article_id=changed).exists()
    assert not CoveragePosting.objects.filter(article_id=changed).exists()
    assert CoverageTerm.objects.get(term=DOC_COUNT_KEY).df == 2
    for other in (articles[0].id, articles[2].id):
        done = Article.objects.get(id=other)
        assert done.story_id is not None and done.enriched_at is not None
        assert done.translation_status == TranslationStatus.NOT_NEEDED
