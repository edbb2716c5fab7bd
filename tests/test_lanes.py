"""The order a worker reading every queue takes them in (newsdesk/ops/lanes.py): polls before enrichment."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from kombu.utils.scheduling import cycle_by_name

from newsdesk.ops.lanes import LaneCycle
from tests.support.http import rss


def _cycle(queues: list[str]) -> LaneCycle:
    cycle = cycle_by_name(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"])()
    cycle.update(list(queues))
    return cycle


def test_the_broker_reads_the_lanes_in_one_order_whatever_the_order_of_q():
    cycle = _cycle(["refine", "enrich_bulk", "enrich", "poll", "drops", "default"])
    assert isinstance(cycle, LaneCycle)
    assert cycle.consume(6) == ["default", "poll", "drops", "enrich", "enrich_bulk", "refine"]
    cycle.rotate("poll")  # kombu calls this after each message; the order stays
    assert cycle.consume(6) == ["default", "poll", "drops", "enrich", "enrich_bulk", "refine"]
    assert _cycle(["enrich", "poll"]).consume(2) == ["poll", "enrich"]


def test_a_renamed_poll_queue_keeps_the_poll_lane_and_other_queues_go_before_enrichment(settings):
    settings.NEWSDESK_POLL_QUEUE = "feeds"
    assert _cycle(["enrich_bulk", "other", "feeds", "enrich"]).consume(4) == ["feeds", "other", "enrich", "enrich_bulk"]


@pytest.mark.slow  # a real worker process
@pytest.mark.django_db(transaction=True)
def test_a_cold_poll_is_not_stuck_behind_queued_enrichment(feed_server):
    """Eight bulk and two fresh enrichment batches are queued before one poll batch; a worker
    reading every queue (as make run's does) polls first, and the polled item is finished
    before the bulk burst."""
    from newsdesk.flow import BULK_QUEUE, FRESH_QUEUE
    from newsdesk.models import Article, FetchAttempt
    from newsdesk.tasks import enrich_articles, poll_sources
    from tests.support.articles import make_article, make_source
    from tests.support.worker import celery_worker, wait_for

    batch = django_settings.NEWSDESK_ENRICH_BATCH_SIZE
    burst_source = make_source(language="en", enabled=False)
    burst = [
        make_article(source=burst_source, title_orig=f"Harbour strike enters day {n}", language="en").id
        for n in range(10 * batch)
    ]
    feed_server.static("/feed.xml", rss([{"title": "Bridge reopens after repairs", "guid": "b-1"}]))
    polled = make_source(language="en", url=feed_server.url("/feed.xml"))
    from config.celery import app

    app.control.purge()
    for n in range(10):
        ids = burst[n * batch : (n + 1) * batch]
        enrich_articles.apply_async((ids,), queue=BULK_QUEUE if n < 8 else FRESH_QUEUE)
    poll_sources.apply_async(([polled.id],), queue=django_settings.NEWSDESK_POLL_QUEUE)
    with celery_worker(concurrency=1, purge=False):
        wait_for(
            lambda: not Article.objects.filter(enriched_at__isnull=True).exists()
            and Article.objects.filter(source=polled).exists(),
            timeout=240,
            message="the poll and every enrichment done",
        )
    poll_started = FetchAttempt.objects.get(source=polled).started_at
    enriched_before = Article.objects.filter(id__in=burst, enriched_at__lt=poll_started).count()
    assert enriched_before == 0, f"{enriched_before} burst articles were enriched before the poll"
    item = Article.objects.get(source=polled)
    bulk = burst[: 8 * batch]
    assert Article.objects.filter(id__in=bulk, enriched_at__lt=item.enriched_at).count() == 0
