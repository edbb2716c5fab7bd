"""The one-round-trip claim before a provider call: single flight, breaker, budget, rate slot."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections

from newsdesk.enrich import gate, translate
from newsdesk.enrich.breaker import breaker_failure
from newsdesk.enrich.budget import budget_key, budget_refund
from newsdesk.enrich.gate import RECHECK_SECONDS
from newsdesk.enrich.redisstate import redis_key, redis_state_clear
from newsdesk.enrich.translate import TranslationPending, text_hash, translate_text, translate_texts
from newsdesk.models import ProviderUsage, Translation
from newsdesk.redisconn import redis_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_translation")]


def test_text_stored_just_after_our_cache_miss_is_read_not_translated_again(translator):
    """A worker whose cache lookup missed a moment before another worker stored
    the text finds the lock still taken, reads the row and makes no call."""
    first = translate_text(text="Una noticia de agencia", source_language="es")
    again = translate_text(text="Una noticia de agencia", source_language="es", _missed_at=time.monotonic())
    assert again.text == first.text == "EN: Una noticia de agencia"
    assert translator.calls == 1


def test_an_old_cache_miss_is_looked_up_again_before_calling(translator):
    """Past RECHECK_SECONDS the lock may be gone: the row is looked up again."""
    translate_text(text="Otra noticia de agencia", source_language="es")
    redis_state_clear()  # the lock expired (or Redis was flushed)
    stale = time.monotonic() - 2 * RECHECK_SECONDS
    again = translate_text(text="Otra noticia de agencia", source_language="es", _missed_at=stale)
    assert again.text == "EN: Otra noticia de agencia"
    assert translator.calls == 1


def test_deleted_cache_row_is_translated_again_once_the_lock_is_done(translator, settings):
    """An admin deleting cached rows must not leave the text blocked until the lock expires:
    once the holder's call time is over, the lock is taken over after a short grace."""
    translate_text(text="Noticia borrada", source_language="es")
    Translation.objects.all().delete()
    started = time.monotonic()
    assert translate_text(text="Noticia borrada", source_language="es").text == "EN: Noticia borrada"
    # The holder's call time (timeout x attempts + backoff + lock margin) plus the grace, far below DONE_SECONDS.
    assert time.monotonic() - started < 15
    assert translator.calls == 2
    assert Translation.objects.filter(text_hash=text_hash("Noticia borrada")).count() == 1


@pytest.mark.parametrize("flush", [False, True], ids=["counted", "after-a-redis-flush"])
def test_budget_spent_is_pending_and_counted(translator, settings, flush):
    """A spent budget leaves the text pending; after a Redis flush the counter is seeded from the durable row."""
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=10"
    translate_text(text="Hola hola", source_language="es")  # 9 characters
    if flush:
        redis_state_clear()
    with pytest.raises(TranslationPending, match="budget"):
        translate_text(text="Adiós", source_language="es")
    assert translator.calls == 1
    usage = ProviderUsage.objects.get(provider="google")
    assert (usage.characters, usage.calls) == (9, 1)


def test_concurrent_callers_cannot_overspend_the_budget(translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=20"
    outcomes: list[str] = []

    def one(i: int) -> None:
        try:
            translate_text(text=f"Frase{i}", source_language="es")  # 6 characters each
            outcomes.append("done")
        except TranslationPending:
            outcomes.append("pending")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("done") == translator.calls == 3  # 3 x 6 <= 20 < 4 x 6
    assert ProviderUsage.objects.get(provider="google").characters == 18


def test_refused_claim_takes_neither_lock_nor_budget(translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=1000"
    translate_text(text="Primera", source_language="es")
    breaker_failure(provider="google", reason="test", retry_after=30)
    with pytest.raises(TranslationPending, match="circuit open"):
        translate_text(text="Segunda", source_language="es")
    client = redis_client()
    assert int(client.get(budget_key(provider="google"))) == len("Primera")
    assert client.get(redis_key("lock", text_hash("Segunda"), "es", "en")) is None
    assert translator.calls == 1


def test_failed_call_frees_the_lock_and_the_budget(translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=1000"
    translator.mode = "down"
    with pytest.raises(TranslationPending):
        translate_text(text="Caída", source_language="es")
    client = redis_client()
    assert int(client.get(budget_key(provider="google"))) == 0
    assert client.get(redis_key("lock", text_hash("Caída"), "es", "en")) is None
    translator.mode = "ok"
    assert translate_text(text="Caída", source_language="es").text == "EN: Caída"


@pytest.fixture
def one_by_one(monkeypatch):
    """Counts the texts claimed one by one (not together with the article's other texts)."""
    claimed: list[str] = []

    def spy(**kwargs):
        claimed.append(kwargs.get("lock_key", ""))
        return gate.call_claim(**kwargs)

    monkeypatch.setattr(translate, "call_claim", spy)
    return claimed


def test_title_and_summary_claimed_together_are_each_translated_once(translator, settings, one_by_one):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=1000"
    translate_text(text="Primera", source_language="es")  # starts today's budget counter
    assert len(one_by_one) == 1
    texts = ["Titular del día", "Resumen de la noticia del día."]
    first = translate_texts(texts=texts, source_language="es")
    again = translate_texts(texts=texts, source_language="es")
    assert len(one_by_one) == 1  # both texts were claimed in one round trip
    assert [r.text for r in first] == [r.text for r in again] == [f"EN: {t}" for t in texts]
    assert translator.calls == 3
    spent = len("Primera") + sum(len(t) for t in texts)
    assert int(redis_client().get(budget_key(provider="google"))) == spent
    usage = ProviderUsage.objects.get(provider="google")
    assert (usage.characters, usage.calls) == (spent, 3)


def test_claims_of_texts_never_sent_are_given_back(translator, settings, one_by_one):
    """The title's call fails, so the article is pending and its summary is not
    sent: the summary's lock and budget, claimed with the title's, are freed."""
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=1000"
    settings.NEWSDESK_TRANSLATION_RETRIES = 0
    translate_text(text="Primera", source_language="es")  # starts today's budget counter
    translator.mode = "down"
    with pytest.raises(TranslationPending):
        translate_texts(texts=["Titular caído", "Resumen que no se envía."], source_language="es")
    assert len(one_by_one) == 1
    assert translator.calls == 2
    client = redis_client()
    assert int(client.get(budget_key(provider="google"))) == len("Primera")
    assert client.get(redis_key("lock", text_hash("Resumen que no se envía."), "es", "en")) is None
    translator.mode = "ok"
    results = translate_texts(texts=["Titular caído", "Resumen que no se envía."], source_language="es")
    assert [r.text for r in results] == ["EN: Titular caído", "EN: Resumen que no se envía."]


def test_texts_claimed_together_still_respect_the_rate_limit(translator, settings, one_by_one):
    settings.NEWSDESK_TRANSLATION_RATES = "google=10"
    started = time.monotonic()
    for i in range(3):
        translate_texts(texts=[f"Titular {i}", f"Resumen {i}."], source_language="es")
    # Six calls at 10/s need at least five intervals of 0.1 s.
    assert time.monotonic() - started >= 0.45
    assert translator.calls == 6
    assert one_by_one == []


def test_open_breaker_refuses_texts_claimed_together(translator):
    breaker_failure(provider="google", reason="test", retry_after=30)
    with pytest.raises(TranslationPending, match="circuit open"):
        translate_texts(texts=["Titular cerrado", "Resumen cerrado."], source_language="es")
    assert translator.calls == 0


def test_refund_after_a_redis_flush_does_not_create_a_counter(translator, settings):
    """A reservation given back after the counter vanished must not leave a
    negative counter behind (it would never expire and hide spent budget)."""
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=100"
    redis_state_clear()
    budget_refund(provider="google", characters=40)
    assert redis_client().get(budget_key(provider="google")) is None
