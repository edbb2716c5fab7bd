"""The enrich pipeline's language and translation stages, the retry task,
the admin re-translate action and the on-demand content translation view."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.enrich.pipeline import article_translate, content_plain_text
from newsdesk.flow import article_finish as article_enrich
from newsdesk.models import Article, CoverageDoc, CoveragePosting, Story, Translation, TranslationStatus
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source
from tests.support.translator import refused_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_translation")]

SPANISH_TITLE = "Los minerales críticos no deben negociarse por separado"
SPANISH_SUMMARY = "El gobierno de Estados Unidos destaca la importancia de los minerales críticos."


def _article(**extra) -> Article:
    source = make_source(language=extra.pop("declared", "es"), enabled=False)
    return make_article(
        source=source,
        title_en="",
        summary_en="",
        status=TranslationStatus.PENDING,
        language=extra.pop("language", ""),
        language_declared=source.language,
        **extra,
    )


def test_enrich_detects_translates_and_stores(translator):
    article = article_enrich(article_id=_article().id)
    article.refresh_from_db()
    assert (article.language_declared, article.language_detected, article.language) == ("es", "es", "es")
    assert article.language_confidence > 0.5
    assert article.title_en == "Critical minerals should not be negotiated separately"
    assert article.summary_en == "The United States government highlights the importance of critical minerals."
    assert (article.translation_status, article.translation_provider) == (TranslationStatus.DONE, "google")
    assert article.translation_attempts == 1
    assert article.enriched_at is not None


def test_detected_language_wins_over_a_wrong_declaration(translator):
    article = _article(declared="en")
    article_enrich(article_id=article.id)
    article.refresh_from_db()
    assert (article.language_declared, article.language) == ("en", "es")
    assert article.translation_status == TranslationStatus.DONE
    assert translator.requests[0].query["sl"] == ["es"]


def test_english_article_needs_no_translation(translator):
    article = _article(
        declared="en",
        title_orig="Critical minerals should not be negotiated separately, officials say",
        summary_orig="The government stresses how important critical minerals are for the economy.",
    )
    article_enrich(article_id=article.id)
    article.refresh_from_db()
    assert article.translation_status == TranslationStatus.NOT_NEEDED
    assert article.title_en == article.title_orig
    assert translator.calls == 0


def test_outage_leaves_article_pending_with_original_and_reason(settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.NEWSDESK_GOOGLE_TRANSLATE_URL = refused_url("/m")
    article = _article()
    article_enrich(article_id=article.id)
    article.refresh_from_db()
    assert article.translation_status == TranslationStatus.PENDING
    assert "google: connection failed" in article.translation_error
    assert article.title_en == ""
    assert article.display_title == SPANISH_TITLE
    assert article.needs_translation_badge


def test_pending_turns_failed_after_max_attempts(settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.NEWSDESK_GOOGLE_TRANSLATE_URL = refused_url("/m")
    settings.NEWSDESK_TRANSLATION_MAX_ATTEMPTS = 2
    article = _article()
    article_enrich(article_id=article.id)
    article_enrich(article_id=article.id)
    article.refresh_from_db()
    assert (article.translation_status, article.translation_attempts) == (TranslationStatus.FAILED, 2)


def test_done_translation_is_not_repeated_unless_forced(translator):
    article = _article()
    article_enrich(article_id=article.id)
    Translation.objects.all().delete()
    article_enrich(article_id=article.id)
    assert translator.calls == 2  # title and summary, once
    article_enrich(article_id=article.id, force_translation=True)
    assert translator.calls == 4


def test_unknown_language_is_failed_not_pending(translator, settings):
    article = _article()
    article.language = "xx"
    article_translate(article=article)
    assert article.translation_status == TranslationStatus.FAILED
    assert "not supported" in article.translation_error


def _purge_queues() -> None:
    from config.celery import app

    app.control.purge()


def test_retry_sweep_adds_nothing_while_its_earlier_messages_wait(translator):
    """The sweep does not re-send ids while the enrich queue still holds a backlog,
    so a long outage cannot grow the queue without bound."""
    from newsdesk.tasks import enrich_backlog, retry_pending_translations

    _purge_queues()
    article = _article()
    Article.objects.filter(id=article.id).update(enriched_at="2026-01-01T00:00:00Z")
    assert retry_pending_translations() == 1
    assert enrich_backlog() == 1
    assert retry_pending_translations() == 0, "the first sweep's message is still queued"
    assert enrich_backlog() == 1
    _purge_queues()
    assert retry_pending_translations() == 1
    _purge_queues()


def test_retry_task_skips_pending_while_every_breaker_is_open(translator, settings):
    from newsdesk.tasks import retry_pending_translations

    _purge_queues()
    article = _article()
    # Enriched with its translation pending, and (as every enriched article) in a story.
    story = Story.objects.create(headline="h")
    Article.objects.filter(id=article.id).update(enriched_at="2026-01-01T00:00:00Z", story=story)
    assert retry_pending_translations() == 1
    _purge_queues()  # an empty queue, so only the breaker can hold the sweep back
    for _ in range(settings.NEWSDESK_TRANSLATION_BREAKER_FAILURES):
        breaker_failure(provider="google", reason="test outage")
    assert retry_pending_translations() == 0


def test_retry_sweep_assigns_articles_whose_story_assignment_was_lost(translator, settings):
    """Enriched but in no story after the grace period (a failed assignment, or its
    asynchronous commit lost to a database crash): enriched again, so it joins one."""
    from datetime import timedelta

    from django.utils import timezone

    from newsdesk.tasks import retry_pending_translations

    _purge_queues()
    done = _article()
    article_enrich(article_id=done.id)
    done.refresh_from_db()
    assert done.story_id is not None and done.translation_status == TranslationStatus.DONE
    lost, recent = _article(), _article()
    for a in (lost, recent):
        article_enrich(article_id=a.id)
    # What a lost assignment leaves: its whole transaction gone (link, index entry, postings).
    Article.objects.filter(id__in=[lost.id, recent.id]).update(story=None)
    CoveragePosting.objects.filter(article_id__in=[lost.id, recent.id]).delete()
    CoverageDoc.objects.filter(article_id__in=[lost.id, recent.id]).delete()
    Article.objects.filter(id=lost.id).update(enriched_at=timezone.now() - timedelta(minutes=11))
    for _ in range(settings.NEWSDESK_TRANSLATION_BREAKER_FAILURES):
        breaker_failure(provider="google", reason="test outage")  # lost assignments are swept all the same
    assert retry_pending_translations() == 1
    _purge_queues()
    article_enrich(article_id=lost.id)
    lost.refresh_from_db()
    assert lost.story_id is not None
    assert retry_pending_translations() == 0


def test_retry_sweep_still_sends_a_lost_enrich_message_for_an_article_a_recluster_put_in_a_story(translator):
    from datetime import timedelta

    from django.utils import timezone

    from newsdesk.tasks import retry_pending_translations

    _purge_queues()
    article = _article()
    story = Story.objects.create(headline="h")
    Article.objects.filter(id=article.id).update(story=story, fetched_at=timezone.now() - timedelta(minutes=11))
    assert retry_pending_translations() == 1
    _purge_queues()


def test_admin_retranslate_action_marks_pending_and_translates_again(translator, client):
    from newsdesk.tasks import retranslate_article

    article = _article()
    article_enrich(article_id=article.id)
    Article.objects.filter(id=article.id).update(translation_attempts=5, title_en="stale")
    Translation.objects.all().delete()
    admin = User.objects.create_superuser("boss", "boss@example.org", "pw-long-enough-123")
    client.force_login(admin)
    response = client.post(
        reverse("admin:newsdesk_article_changelist"),
        {"action": "retranslate", "_selected_action": [article.id]},
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.translation_status, article.translation_attempts) == (TranslationStatus.PENDING, 0)
    retranslate_article(article.id)  # what the queued task runs
    article.refresh_from_db()
    assert article.title_en == "Critical minerals should not be negotiated separately"
    assert article.translation_status == TranslationStatus.DONE


def test_content_plain_text_keeps_paragraphs_and_drops_markup():
    html = "<p>Uno &amp; dos.</p><p>Tres<br>cuatro <b>cinco</b></p><script>alert(1)</script>"
    assert content_plain_text(html=html) == "Uno & dos.\n\nTres\n\ncuatro cinco"


def test_translation_view_translates_once_and_escapes(translator, client):
    article = _article(content_orig="<p>Primer párrafo &lt;script&gt;x&lt;/script&gt;.</p><p>Segundo párrafo.</p>")
    article_enrich(article_id=article.id)
    client.force_login(make_editor())
    url = reverse("article-translation", args=[article.id])
    response = client.post(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>" not in body
    assert "EN: Primer párrafo &lt;script&gt;x&lt;/script&gt;." in body
    calls = translator.calls
    data = json.loads(client.get(url + "?format=json").content)
    assert data["status"] == "done"
    assert data["content"].startswith("EN: Primer párrafo <script>x</script>.")
    assert translator.calls == calls  # cached on the article
    article.refresh_from_db()
    assert article.content_en == data["content"]


def test_translation_view_shows_original_when_pending(client, settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.NEWSDESK_GOOGLE_TRANSLATE_URL = refused_url("/m")
    article = _article(content_orig="<p>Hola <b>mundo</b></p>", language="es")
    client.force_login(make_editor())
    response = client.post(reverse("article-translation", args=[article.id]))
    assert response.status_code == 503
    assert "Translation pending" in response.content.decode()
    assert "<p>Hola mundo</p>" in response.content.decode()


def test_translation_view_404(client):
    assert client.get(reverse("article-translation", args=[999999])).status_code == 404


def test_translated_title_and_summary_are_cleaned_like_originals(translator, monkeypatch):
    """A provider answering with markup does not put it in the English title (issue #16 item 5)."""
    from tests.support import translator as phrasebook

    monkeypatch.setitem(phrasebook.PHRASES, SPANISH_TITLE, "Minerals <img src=x onerror=alert(1)>talks &amp; trade")
    monkeypatch.setitem(phrasebook.PHRASES, SPANISH_SUMMARY, "<script>alert(1)</script>The <b>summary</b>.")
    article = article_enrich(article_id=_article().id)
    article.refresh_from_db()
    assert article.title_en == "Minerals talks & trade"
    assert article.summary_en == "The summary ."
    assert article.translation_status == TranslationStatus.DONE


def test_translated_content_loses_markup_the_provider_added_but_keeps_the_originals_text(translator, monkeypatch):
    from tests.support import translator as phrasebook

    original = "Dos párrafos sobre la etiqueta <b> del HTML."
    monkeypatch.setitem(
        phrasebook.PHRASES, original, 'Two paragraphs on the <b> tag <img src=x onerror="alert(1)">of HTML.'
    )
    article = _article(content_orig="<p>Dos párrafos sobre la etiqueta &lt;b&gt; del HTML.</p>", language="es")
    from newsdesk.enrich.pipeline import article_translate_content

    assert article_translate_content(article=article) == "Two paragraphs on the <b> tag of HTML."
