"""An article's short texts in one provider request, where the provider's protocol takes several
(DeepL's repeated ``text``, Microsoft's array body, LibreTranslate's ``q`` array), against loopback
servers speaking those protocols; deep-translator builds the provider objects and sends single texts."""

from __future__ import annotations

import pytest

from newsdesk.enrich.translate import TranslationPending, text_hash, translate_text, translate_texts
from newsdesk.models import Translation
from tests.support.translator import provider_served

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_translation")]

TITLE = "Un sismo sacude Arequipa"
SUMMARY = "El terremoto dejó sin electricidad a miles de hogares del sur del país"


@pytest.fixture(params=["deepl", "microsoft", "libre"])
def several(request, settings):
    """A provider whose protocol takes several texts in one request, the only one configured."""
    with provider_served(settings, request.param, NEWSDESK_DEEPL_KEY="loopback-deepl-key") as server:
        server.name = request.param
        yield server


def test_title_and_summary_travel_in_one_request(several):
    results = translate_texts(texts=[TITLE, SUMMARY], source_language="es")
    assert [r.text for r in results] == [f"EN: {TITLE}", f"EN: {SUMMARY}"]
    assert {r.provider for r in results} == {several.name}
    assert several.calls == 1 and several.texts == [TITLE, SUMMARY]
    rows = dict(Translation.objects.values_list("text_hash", "translated"))
    assert rows == {text_hash(TITLE): f"EN: {TITLE}", text_hash(SUMMARY): f"EN: {SUMMARY}"}
    # Each was cached on its own: asked alone later, neither costs a request.
    assert translate_text(text=SUMMARY, source_language="es").text == f"EN: {SUMMARY}"
    assert several.calls == 1


def test_a_text_the_provider_refuses_fails_alone(several):
    """The request carrying both is refused (HTTP 400): each is then sent alone, the good one is translated
    and kept, and only the article's bad text is left for later (pending)."""
    several.refused = {TITLE}
    with pytest.raises(TranslationPending, match="HTTP 400"):
        translate_texts(texts=[TITLE, SUMMARY], source_language="es")
    assert several.texts.count(SUMMARY) == 2  # together, then alone
    assert Translation.objects.get().text_hash == text_hash(SUMMARY)
    calls = several.calls
    assert translate_text(text=SUMMARY, source_language="es").text == f"EN: {SUMMARY}"
    assert several.calls == calls


def test_an_outage_is_not_multiplied_by_the_texts(several):
    """A 500 for the request of both is the provider's trouble, not a text's: no request per text on top;
    the one-text path (retries, breaker) takes over as without batching."""
    several.mode = "down"
    with pytest.raises(TranslationPending, match="HTTP 500"):
        translate_texts(texts=[TITLE, SUMMARY], source_language="es")
    # The request of both, then the first text alone with its retry (the one-text path), and the article
    # is pending: no request per text on top of that.
    assert several.texts == [TITLE, SUMMARY, TITLE, TITLE]


def test_googles_web_endpoint_takes_one_text_a_request(translator):
    results = translate_texts(texts=[TITLE, SUMMARY], source_language="es")
    assert [r.text for r in results] == [f"EN: {TITLE}", f"EN: {SUMMARY}"]
    assert translator.calls == 2
