"""newsdesk.flow.articles_unfinished: what the retry sweep sends through the flow again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.flow import LOST_AFTER, articles_unfinished
from newsdesk.models import Article, Story, TranslationStatus
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def google_translates(settings, translation_state_clean):
    settings.NEWSDESK_TRANSLATORS = ["google"]


def test_lost_articles_first_then_pending_translations_within_the_limit(settings):
    now = timezone.now()
    old = now - LOST_AFTER - timedelta(seconds=1)
    source = make_source()
    story = Story.objects.create(headline="h")

    def article(**fields) -> int:
        made = make_article(source=source)
        Article.objects.filter(id=made.id).update(**fields)
        return made.id

    pending = article(translation_status=TranslationStatus.PENDING, enriched_at=now, story=story)
    never_enriched = article(enriched_at=None, fetched_at=old)
    no_story = article(enriched_at=old, story=None)
    article(enriched_at=None, fetched_at=now)  # just stored: its message is on its way
    article(enriched_at=now, story=None)  # just enriched: its assignment is on its way
    article(translation_status=TranslationStatus.FAILED, enriched_at=old, story=story)  # waits for the admin
    article(enriched_at=old, story=story)  # finished
    assert articles_unfinished(now=now, limit=10) == [never_enriched, no_story, pending]
    assert articles_unfinished(now=now, limit=2) == [never_enriched, no_story]
    for _ in range(settings.NEWSDESK_TRANSLATION_BREAKER_FAILURES):
        breaker_failure(provider="google", reason="test outage")
    assert articles_unfinished(now=now, limit=10) == [never_enriched, no_story]
