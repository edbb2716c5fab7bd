"""Translation with real Celery worker processes on real Redis (no eager mode)."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections

from newsdesk.enrich.breaker import breaker_state
from newsdesk.models import Article, Translation, TranslationStatus
from tests.support.articles import make_article, make_source
from tests.support.translator import fake_translate, worker_env
from tests.support.worker import celery_worker, wait_for

# Real Celery worker processes.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("translation_state_clean"),
]

# The detector is not under test here; the light model keeps worker start-up short.
ENV = {"NEWSDESK_LANGUAGE_ACCURACY": "low"}


def _articles(texts: list[tuple[str, str]]) -> list[int]:
    ids = []
    for title, summary in texts:
        source = make_source(language="es", enabled=False)
        article = make_article(
            source=source,
            title_orig=title,
            summary_orig=summary,
            title_en="",
            summary_en="",
            status=TranslationStatus.PENDING,
            language="",
            language_declared="es",
        )
        ids.append(article.id)
    return ids


def _count(**filters) -> int:
    close_old_connections()
    return Article.objects.filter(**filters).count()


def test_same_text_from_50_articles_on_three_workers_is_one_call_each(translator):
    """Wire copy carried by 50 outlets, enriched by three concurrent worker
    processes: one provider call for the title and one for the summary."""
    from newsdesk.tasks import enrich_article

    translator.mode = "slow"
    translator.delay = 0.5  # long enough for the workers to collide on the same text
    title = "El banco central sube los tipos de interés por sorpresa"
    summary = "La decisión del banco central sorprende a los mercados y a los analistas."
    ids = _articles([(title, summary)] * 50)
    with celery_worker(extra_env={**worker_env(NEWSDESK_TRANSLATION_TIMEOUT=5), **ENV}, concurrency=3):
        for article_id in ids:
            enrich_article.delay(article_id)
        wait_for(lambda: _count(id__in=ids, translation_status=TranslationStatus.DONE) == 50, timeout=120)
    assert translator.calls == 2
    assert sorted(translator.texts) == sorted([title, summary])
    assert Translation.objects.count() == 2
    assert set(Article.objects.filter(id__in=ids).values_list("title_en", flat=True)) == {fake_translate(title)}


def test_provider_down_then_recovers_nothing_lost_no_call_while_open(translator):
    """Outage: articles stay pending with the original shown and the breaker
    opens; while it is open no request reaches the provider, even when the
    articles are re-queued; after recovery the retry task gets every one translated."""
    from newsdesk.tasks import enrich_article, retry_pending_translations

    texts = [
        (f"Titular número {i} sobre la economía", f"Resumen número {i} de la noticia económica.") for i in range(10)
    ]
    ids = _articles(texts)
    translator.mode = "down"
    env = {
        **worker_env(NEWSDESK_TRANSLATION_RETRIES=0, NEWSDESK_TRANSLATION_BREAKER_COOLDOWN=4),
        **ENV,
    }
    with celery_worker(extra_env=env, concurrency=2):
        for article_id in ids:
            enrich_article.delay(article_id)
        wait_for(
            lambda: _count(id__in=ids, translation_status=TranslationStatus.PENDING, enriched_at__isnull=False) == 10,
            timeout=120,
            message="all articles enriched and pending",
        )
        assert breaker_state(provider="google").state == "open"
        calls_while_open = translator.calls
        # The breaker opens at the 3rd failure; a call already in flight in the
        # other worker process may still land, the remaining articles never call.
        assert 3 <= calls_while_open <= 4
        # The periodic task holds back while every breaker is open...
        assert retry_pending_translations() == 0
        # ...and even work queued anyway makes no call.
        for article_id in ids:
            enrich_article.delay(article_id)
        time.sleep(1.5)
        assert breaker_state(provider="google").state == "open"
        assert translator.calls == calls_while_open
        assert _count(id__in=ids, translation_status=TranslationStatus.PENDING) == 10

        translator.mode = "ok"
        wait_for(lambda: breaker_state(provider="google").state != "open", timeout=30, message="breaker cooldown")
        assert retry_pending_translations() == 10
        wait_for(lambda: _count(id__in=ids, translation_status=TranslationStatus.DONE) == 10, timeout=120)
    assert translator.calls - calls_while_open == 20  # each unique title and summary once
    assert breaker_state(provider="google").state == "closed"
    for article in Article.objects.filter(id__in=ids):
        assert article.title_en == fake_translate(article.title_orig)
        assert article.summary_en == fake_translate(article.summary_orig)
        assert article.translation_error == ""
