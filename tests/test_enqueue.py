"""The public ways to queue work (newsdesk.tasks.*_enqueue) and the services behind admin's actions.

Messages are read back from the real Redis broker; every enqueue waits for
the caller's transaction to commit.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from newsdesk.enrich.retranslate import articles_retranslate_mark
from newsdesk.ingest.sources import sources_disable, sources_enable, sources_poll_now
from newsdesk.models import Source, SourceKind, TranslationStatus
from newsdesk.tasks import articles_retranslate_enqueue, sources_poll_enqueue
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db


def _drain(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of every message in ``queue``, oldest first; empties it."""
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        raw = client.lrange(queue, 0, -1)
        client.delete(queue)
    messages = []
    for item in reversed(raw):  # kombu pushes on the left
        message = json.loads(item)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], args))
    return messages


@pytest.fixture
def poll_queue(settings):
    _drain(settings.NEWSDESK_POLL_QUEUE)
    yield settings.NEWSDESK_POLL_QUEUE
    _drain(settings.NEWSDESK_POLL_QUEUE)


def test_polls_are_sent_after_commit_in_the_dispatchers_batches(
    settings, poll_queue, django_capture_on_commit_callbacks
):
    settings.NEWSDESK_POLL_BATCH_SIZE = 2
    with django_capture_on_commit_callbacks() as callbacks:
        assert sources_poll_enqueue(source_ids=[5, 6, 7]) == 3
        assert _drain(poll_queue) == [], "nothing leaves before the commit"
    for callback in callbacks:
        callback()
    assert _drain(poll_queue) == [("newsdesk.tasks.poll_sources", [[5, 6]]), ("newsdesk.tasks.poll_sources", [[7]])]
    assert sources_poll_enqueue(source_ids=[]) == 0


def test_poll_now_makes_enabled_feeds_due_and_counts_the_disabled():
    later = timezone.now() + timedelta(days=1)
    on = Source.objects.create(name="On", url="https://a.example/rss", next_poll_at=later)
    off = Source.objects.create(name="Off", url="https://b.example/rss", enabled=False, next_poll_at=later)
    drop = Source.objects.create(name="Drop", kind=SourceKind.DROP, inbox="in", next_poll_at=later)
    result = sources_poll_now(source_ids=[on.id, off.id, drop.id])
    assert (result.due, result.disabled) == ([on.id], 1)
    on.refresh_from_db()
    off.refresh_from_db()
    assert on.next_poll_at <= timezone.now() < off.next_poll_at


def test_enable_clears_the_error_record_and_disable_says_why():
    source = Source.objects.create(
        name="S", url="https://a.example/rss", enabled=False, disabled_reason="gone", error_count=9
    )
    source.first_error_at = timezone.now() - timedelta(days=8)
    source.save()
    assert sources_enable(source_ids=[source.id]) == 1
    source.refresh_from_db()
    assert (source.enabled, source.disabled_reason, source.error_count, source.first_error_at) == (True, "", 0, None)
    assert source.next_poll_at <= timezone.now()
    assert sources_disable(source_ids=[source.id], reason="Disabled by boss.") == 1
    source.refresh_from_db()
    assert (source.enabled, source.disabled_reason) == (False, "Disabled by boss.")


def test_retranslation_marks_pending_then_sends_one_message_per_article(django_capture_on_commit_callbacks):
    queue = "enrich"
    _drain(queue)
    done = make_article(source=make_source(), translation_attempts=4, translation_error="x")
    ids = articles_retranslate_mark(article_ids=[done.id, 10**9])
    assert ids == [done.id]
    done.refresh_from_db()
    assert (done.translation_status, done.translation_attempts, done.translation_error) == (
        TranslationStatus.PENDING,
        0,
        "",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert articles_retranslate_enqueue(article_ids=ids) == 1
    assert _drain(queue) == [("newsdesk.tasks.retranslate_article", [done.id])]
