"""Untranslated cards say why and when they are tried again (newsdesk/enrich/status.py, web/cards.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from lxml import html

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.models import TranslationStatus
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.usefixtures("translation_state_clean")


def _note(client) -> str:
    doc = html.fromstring(client.get("/").content)
    notes = doc.xpath("//p[@class='translation-note']")
    return " ".join(notes[0].text_content().split()) if notes else ""


@pytest.mark.django_db
def test_pending_card_names_the_open_circuit_and_when_it_is_tried(client, settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    make_article(source=make_source(), title_en="", status=TranslationStatus.PENDING, translation_error="")
    breaker_failure(provider="google", reason="google: connection refused", retry_after=600)
    note = _note(client)
    assert note.startswith("Not translated yet: google: circuit open until ")
    assert "(connection refused); next try after " in note and note.endswith(" UTC.")


@pytest.mark.django_db
def test_pending_card_with_a_missing_key(client, settings):
    settings.NEWSDESK_TRANSLATORS = ["deepl"]
    settings.NEWSDESK_DEEPL_KEY = ""
    make_article(source=make_source(), title_en="", status=TranslationStatus.PENDING)
    assert _note(client).startswith("Not translated yet: deepl: not configured (NEWSDESK_DEEPL_KEY is not set);")


@pytest.mark.django_db
def test_pending_card_while_providers_work_gives_its_own_reason_and_the_retry_cadence(client, settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.CELERY_BEAT_SCHEDULE = {"retry-pending-translations": {"task": "x", "schedule": 300.0}}
    make_article(
        source=make_source(), title_en="", status=TranslationStatus.PENDING, translation_error="google: HTTP 503"
    )
    assert _note(client) == "Not translated yet: google: HTTP 503; tried again every 5 minutes."


@pytest.mark.django_db
def test_failed_card_says_why(client):
    make_article(
        source=make_source(),
        title_en="",
        status=TranslationStatus.FAILED,
        translation_error="google: language 'xx' not supported",
    )
    assert _note(client) == ("Translation failed: google: language 'xx' not supported. An admin can retry it.")


@pytest.mark.django_db
def test_translated_card_has_no_note(client):
    make_article(source=make_source(), status=TranslationStatus.DONE)
    assert _note(client) == ""


@pytest.mark.parametrize(
    ("translators", "extra", "message"),
    [
        (["bogus"], {}, "unknown translation provider 'bogus'"),
        (["deepl"], {"NEWSDESK_DEEPL_KEY": ""}, "NEWSDESK_DEEPL_KEY is not set"),
        (["microsoft"], {"NEWSDESK_MICROSOFT_KEY": ""}, "NEWSDESK_MICROSOFT_KEY is not set"),
        (["libre"], {"NEWSDESK_LIBRETRANSLATE_URL": ""}, "NEWSDESK_LIBRETRANSLATE_URL is not set"),
    ],
)
def test_system_check_refuses_a_translator_that_can_never_work(settings, translators, extra, message):
    settings.NEWSDESK_TRANSLATORS = translators
    for name, value in extra.items():
        setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=message):
        call_command("check")


def test_system_check_accepts_the_default_and_keyed_providers(settings):
    settings.NEWSDESK_TRANSLATORS = ["google", "deepl", "mymemory"]
    settings.NEWSDESK_DEEPL_KEY = "k"
    call_command("check")


def test_system_check_refuses_a_bad_budget_or_rate(settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=lots"
    with pytest.raises(SystemCheckError, match="NEWSDESK_TRANSLATION_DAILY_CHARS"):
        call_command("check")


def test_system_check_refuses_a_bad_allowed_network(settings):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["10.0.0.0/8", "intranet"]
    with pytest.raises(SystemCheckError, match="NEWSDESK_FETCH_ALLOWED_NETWORKS: 'intranet' is not a network"):
        call_command("check")


def test_system_check_warns_of_languages_the_detector_does_not_know(settings):
    from io import StringIO

    settings.NEWSDESK_LANGUAGES = ["es", "pt", "klingon"]
    err = StringIO()
    call_command("check", stderr=err, stdout=err)
    assert "NEWSDESK_LANGUAGES: the detector does not know 'klingon'" in err.getvalue()
