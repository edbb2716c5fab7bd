"""translate_text against a loopback provider, with deep-translator called for real."""

from __future__ import annotations

import html
import logging
import time

import pytest

from newsdesk.enrich.breaker import breaker_state
from newsdesk.enrich.providers import STATS
from newsdesk.enrich.translate import (
    TranslationFailed,
    TranslationPending,
    text_hash,
    translate_text,
)
from newsdesk.models import ProviderUsage, Translation
from tests.support.http import Response
from tests.support.translator import provider_fixture, provider_served, refused_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_translation")]

SPANISH = "Los minerales críticos no deben negociarse por separado"


libre = provider_fixture("libre")


@pytest.fixture
def server(protocol, translator, libre, settings):
    """The loopback server of the parametrized `protocol` ("google" or "libre"), the only translator configured."""
    settings.NEWSDESK_TRANSLATORS = [protocol]
    return translator if protocol == "google" else libre


def test_google_protocol_translates_and_caches(translator):
    """The Google mobile page is parsed; the second request for the text hits the cache."""
    first = translate_text(text=SPANISH, source_language="es")
    second = translate_text(text=SPANISH, source_language="es")
    assert first.text == "Critical minerals should not be negotiated separately"
    assert first.provider == "google"
    assert second.text == first.text
    assert translator.calls == 1
    row = Translation.objects.get()
    assert row.text_hash == text_hash(SPANISH)
    assert (row.source_language, row.target_language, row.provider) == ("es", "en", "google")


def test_libre_protocol_translates(libre):
    result = translate_text(text="Hola mundo", source_language="es")
    assert result.text == "EN: Hola mundo"
    assert result.provider == "libre"
    assert libre.calls == 1


def test_same_text_from_50_articles_makes_one_call(translator):
    for _ in range(50):
        assert translate_text(text="Una noticia de agencia", source_language="es").text == "EN: Una noticia de agencia"
    assert translator.calls == 1
    assert Translation.objects.count() == 1


def test_same_text_other_source_language_is_another_entry(translator):
    translate_text(text="Bank", source_language="de")
    translate_text(text="Bank", source_language="nl")
    assert translator.calls == 2


def test_outage_connection_refused_is_pending_and_opens_breaker(settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.NEWSDESK_GOOGLE_TRANSLATE_URL = refused_url("/m")
    for _ in range(2):
        with pytest.raises(TranslationPending, match="connection failed"):
            translate_text(text="Hola", source_language="es")
    assert breaker_state(provider="google").state == "open"
    started = time.monotonic()
    with pytest.raises(TranslationPending, match="circuit open"):
        translate_text(text="Hola", source_language="es")
    assert time.monotonic() - started < 0.5
    assert not Translation.objects.exists()


@pytest.mark.parametrize("protocol", ["google", "libre"])
def test_500_is_retried_then_pending(server):
    server.mode = "down"
    with pytest.raises(TranslationPending, match="HTTP 500"):
        translate_text(text="Hola", source_language="es")
    assert server.calls == 2  # one try and one retry (NEWSDESK_TRANSLATION_RETRIES=1)


def test_429_with_retry_after_opens_breaker_for_that_long(translator):
    translator.mode = "429"
    translator.retry_after = "3"
    with pytest.raises(TranslationPending, match="429"):
        translate_text(text="Hola", source_language="es")
    assert translator.calls == 1  # no hammering a provider that asked us to wait
    state = breaker_state(provider="google")
    assert state.state == "open"
    assert 2.0 < state.open_seconds <= 3.0
    translator.mode = "ok"
    with pytest.raises(TranslationPending, match="circuit open"):
        translate_text(text="Hola", source_language="es")
    assert translator.calls == 1


@pytest.mark.parametrize("protocol", ["google", "libre"])
def test_200_captcha_page_is_not_a_translation(server):
    server.mode = "captcha"
    with pytest.raises(TranslationPending, match="unusable response"):
        translate_text(text="Hola", source_language="es")
    assert server.calls == 1  # a captcha does not go away by asking again at once
    assert not Translation.objects.exists()


def test_slow_response_past_deadline_returns_on_time(translator):
    translator.mode = "slow"
    translator.delay = 3.0
    started = time.monotonic()
    with pytest.raises(TranslationPending, match="timed out"):
        translate_text(text="Hola", source_language="es")
    elapsed = time.monotonic() - started
    # Two attempts of a 1 s deadline each, plus tiny backoff: far below the server's 3 s per answer.
    assert elapsed < 2.8
    assert not Translation.objects.exists()


@pytest.mark.parametrize("protocol", ["google", "libre"])
def test_none_or_empty_result_keeps_original_uncached(server):
    server.mode = "none"
    result = translate_text(text="Hola mundo", source_language="es")
    assert result.text == "Hola mundo"
    assert not Translation.objects.exists()
    server.mode = "ok"
    assert translate_text(text="Hola mundo", source_language="es").text == "EN: Hola mundo"


@pytest.mark.parametrize(("length", "calls"), [(4999, 1), (5000, 2), (12000, 3)])
def test_long_texts_split_under_google_limit_and_reassemble_in_order(translator, length, calls):
    sentence = "Frase número {:04d} de la prueba. "
    text = "".join(sentence.format(i) for i in range(length // len(sentence.format(0)) + 1))[:length]
    text = text[:-1] + "x" if text.endswith(" ") else text
    assert len(text) == length
    result = translate_text(text=text, source_language="es")
    assert translator.calls == calls
    assert all(len(sent) < 5000 for sent in translator.texts)
    # Every sentence comes back, in order, each chunk marked by the fake provider.
    numbers = [int(part.split()[0]) for part in result.text.split("número ")[1:]]
    assert numbers == sorted(numbers)
    assert result.text.count("EN: ") == calls
    assert "".join(translator.texts).replace(" ", "") == text.replace(" ", "")
    # Whole text cached too: asking again costs nothing.
    translate_text(text=text, source_language="es")
    assert translator.calls == calls


def test_libre_chunks_stay_small_because_text_travels_in_the_url(libre):
    text = " ".join(f"Oración {i} con acentos áéíóú." for i in range(400))
    result = translate_text(text=text, source_language="es")
    assert libre.calls > 1
    assert all(len(sent) <= 1500 for sent in libre.texts)
    assert result.text.count("EN: ") == libre.calls


def test_emoji_only_text_makes_no_call(translator):
    assert translate_text(text="🔥🔥 🚀", source_language="es").text == "🔥🔥 🚀"
    assert translator.calls == 0


def test_html_entity_text_comes_back_as_plain_text(translator):
    """Providers HTML-decode output; we store plain text (templates escape it)."""
    result = translate_text(text="Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;", source_language="es")
    assert translator.texts == ["Tom & Jerry <script>alert(1)</script>"]
    assert result.text == "EN: Tom & Jerry <script>alert(1)</script>"
    assert "<script>" not in html.escape(result.text)


def test_control_characters_are_stripped(libre):
    body = b'{"translatedText": "ok\\u0000 text\\u001b[31m \\u202eevil"}'
    libre.route("/translate", lambda _request: Response(200, body, {"Content-Type": "application/json"}))
    assert translate_text(text="Hola", source_language="es").text == "ok text[31m evil"


def test_fallback_chain_uses_next_provider(translator, settings):
    settings.NEWSDESK_TRANSLATORS = ["libre", "google"]
    settings.NEWSDESK_LIBRETRANSLATE_URL = refused_url("/")
    result = translate_text(text="Hola", source_language="es")
    assert result.provider == "google"
    assert translator.calls == 1


def test_cache_from_any_chain_provider_is_reused(translator, settings):
    translate_text(text="Hola", source_language="es")
    settings.NEWSDESK_TRANSLATORS = ["libre", "google"]
    settings.NEWSDESK_LIBRETRANSLATE_URL = refused_url("/")
    assert translate_text(text="Hola", source_language="es").provider == "google"
    assert translator.calls == 1


def test_unsupported_language_fails_for_good(translator):
    with pytest.raises(TranslationFailed, match="not supported"):
        translate_text(text="Text", source_language="xx")
    assert translator.calls == 0


def test_deepl_key_never_in_errors(settings):
    with provider_served(settings, "deepl", NEWSDESK_DEEPL_KEY="sekret-deepl-key-1234:fx") as server:
        assert translate_text(text="Hola", source_language="es").text == "EN: Hola"
        assert server.requests[-1].query["auth_key"] == ["sekret-deepl-key-1234:fx"]
        server.mode = "forbidden"
        with pytest.raises(TranslationPending) as info:
            translate_text(text="Adiós", source_language="es")
        assert "sekret" not in str(info.value)
        assert "403" in str(info.value)
    settings.NEWSDESK_DEEPL_URL = refused_url("/v2/")
    with pytest.raises(TranslationPending) as info:
        translate_text(text="Otra", source_language="es")
    assert "sekret" not in str(info.value)


def test_failed_call_refunds_budget(translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=100"
    translator.mode = "down"
    with pytest.raises(TranslationPending):
        translate_text(text="Hola", source_language="es")
    usage = ProviderUsage.objects.get(provider="google")
    assert usage.characters == 0
    assert usage.failures == 2


def test_rate_limit_spaces_calls(translator, settings):
    settings.NEWSDESK_TRANSLATION_RATES = "google=10"
    started = time.monotonic()
    for i in range(6):
        translate_text(text=f"Frase {i}", source_language="es")
    # Six calls at 10/s need at least five intervals of 0.1 s.
    assert time.monotonic() - started >= 0.45
    assert translator.calls == 6


def test_stats_count_calls_and_characters(translator):
    STATS.reset()
    translate_text(text="Hola", source_language="es")
    assert (STATS.calls, STATS.characters) == (1, 4)


def test_deepl_key_never_in_logs_even_at_debug(settings, caplog):
    """urllib3 logs request lines (with DeepL's auth_key parameter) at DEBUG."""
    caplog.set_level(logging.DEBUG)
    with provider_served(settings, "deepl", NEWSDESK_DEEPL_KEY="sekret-deepl-key-5678:fx") as server:
        translate_text(text="Hola", source_language="es")
        server.mode = "forbidden"
        with pytest.raises(TranslationPending):
            translate_text(text="Adiós", source_language="es")
    assert any("/v2/translate" in record.getMessage() for record in caplog.records)
    assert "sekret" not in caplog.text


microsoft = provider_fixture("microsoft")


mymemory = provider_fixture("mymemory")


def test_microsoft_protocol_translates_with_the_key_in_a_header(microsoft):
    result = translate_text(text=SPANISH, source_language="es")
    assert (result.text, result.provider) == ("Critical minerals should not be negotiated separately", "microsoft")
    sent = microsoft.requests[-1]
    assert sent.query["from"] == ["es"] and sent.query["to"] == ["en"]
    assert microsoft.microsoft_key not in sent.path  # never in the URL, so never in access logs


def test_microsoft_wrong_key_fails_without_leaking_it(microsoft, settings, caplog):
    settings.NEWSDESK_MICROSOFT_KEY = "sekret-azure-key-9876"
    with caplog.at_level(logging.DEBUG), pytest.raises(TranslationPending) as raised:
        translate_text(text=SPANISH, source_language="es")
    assert "401" in str(raised.value)
    assert "sekret-azure-key-9876" not in caplog.text + str(raised.value)
    assert not Translation.objects.exists()


@pytest.mark.parametrize("protocol", ["microsoft", "mymemory"])
def test_500_and_outage_are_pending_for_every_protocol(protocol, microsoft, settings):
    server = microsoft
    if protocol == "mymemory":
        settings.NEWSDESK_TRANSLATORS = ["mymemory"]
        settings.NEWSDESK_MYMEMORY_URL = server.url("/mymemory/get")
    server.mode = "down"
    with pytest.raises(TranslationPending):
        translate_text(text=SPANISH, source_language="es")
    assert not Translation.objects.exists()


def test_mymemory_protocol_translates_in_small_chunks(mymemory):
    result = translate_text(text=SPANISH, source_language="es")
    assert (result.text, result.provider) == ("Critical minerals should not be negotiated separately", "mymemory")
    assert mymemory.requests[-1].query["langpair"][0].split("|")[1].startswith("en")
    long = " ".join(f"Frase número {i} sobre minerales críticos." for i in range(60))
    translate_text(text=long, source_language="es")
    assert all(len(sent) < 500 for sent in mymemory.texts)  # MyMemory refuses 500 characters and more


def test_mymemory_quota_warning_inside_a_200_is_not_a_translation(mymemory, settings):
    """MyMemory answers HTTP 200 with its quota warning as translatedText."""
    settings.NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN = 86400
    mymemory.mode = "quota"
    with pytest.raises(TranslationPending) as raised:
        translate_text(text=SPANISH, source_language="es")
    assert "quota" in str(raised.value)
    assert not Translation.objects.exists()  # the warning is never cached as English
    state = breaker_state(provider="mymemory")
    assert state.state == "open"
    assert 7500 <= state.open_seconds <= 7509  # "NEXT AVAILABLE IN 2 HOURS 05 MINUTES 09 SECONDS"
