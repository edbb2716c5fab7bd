"""Language detection (lingua restricted to NEWSDESK_LANGUAGES) and the choice
between the declared and the detected language."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.enrich.language import (
    choose_language,
    detect_language,
    language_code_normalise,
    languages_configured,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

# News-style sentences written for this test, a few per language.
SENTENCES = {
    "es": [
        "El gobierno anunció nuevas medidas para contener la inflación este martes.",
        "La selección nacional ganó el partido en el último minuto.",
    ],
    "fr": [
        "Le gouvernement a présenté mardi un projet de loi sur les retraites.",
        "Les pompiers ont maîtrisé l'incendie après plusieurs heures de lutte.",
    ],
    "de": [
        "Die Bundesregierung hat am Dienstag ein neues Klimapaket beschlossen.",
        "Der Verein trennte sich nach der Niederlage von seinem Trainer.",
    ],
    "it": [
        "Il consiglio dei ministri ha approvato la legge di bilancio nella notte.",
        "La squadra di casa ha vinto la partita grazie a un rigore nel finale.",
    ],
    "pt": [
        "O presidente assinou ontem o decreto que altera as regras da previdência.",
        "A inflação voltou a subir no mês passado, segundo o instituto de estatística.",
    ],
    "nl": [
        "Het kabinet heeft dinsdag nieuwe maatregelen tegen de woningnood aangekondigd.",
        "De politie heeft na de wedstrijd drie supporters aangehouden.",
    ],
    "ru": [
        "Правительство утвердило новый бюджет на следующий год.",
        "В Москве открылась международная выставка современного искусства.",
    ],
    "uk": [
        "Уряд ухвалив рішення про підвищення мінімальної заробітної плати.",
        "У Києві відкрилася нова станція метрополітену.",
    ],
    "pl": [
        "Rząd przyjął projekt ustawy o podatku od nieruchomości.",
        "Reprezentacja Polski wygrała mecz eliminacyjny w Warszawie.",
    ],
    "tr": [
        "Merkez Bankası faiz oranlarını beklentilerin üzerinde artırdı.",
        "Belediye, şehir merkezindeki yeni parkın açılışını yaptı.",
    ],
    "zh": ["政府宣布了新的经济刺激计划，以促进国内消费。", "国家队在昨晚的比赛中以二比一获胜。"],
    "ja": ["政府は新しい経済対策を発表しました。", "昨夜の試合で日本代表が勝利しました。"],
    "ko": ["정부는 새로운 경제 대책을 발표했다.", "국가대표팀이 어젯밤 경기에서 승리했다."],
    "ar": ["أعلنت الحكومة عن خطة جديدة لدعم الاقتصاد الوطني.", "فاز المنتخب الوطني في المباراة النهائية أمس."],
    "id": [
        "Pemerintah mengumumkan kebijakan baru untuk menekan harga bahan pokok.",
        "Tim nasional berhasil memenangkan pertandingan tadi malam.",
    ],
    "sv": [
        "Regeringen presenterade på tisdagen en ny budget för försvaret.",
        "Polisen utreder en misstänkt mordbrand i centrala Göteborg.",
    ],
    "en": [
        "The government announced new measures to curb inflation on Tuesday.",
        "The home team won the match with a late penalty.",
    ],
}


@pytest.mark.parametrize(("language", "sentence"), [(lang, s) for lang, texts in SENTENCES.items() for s in texts])
def test_detects_news_sentences(language, sentence):
    detected, confidence = detect_language(text=sentence)
    assert detected == language
    assert 0.0 < confidence <= 1.0


@pytest.mark.slow  # loads the shipped high-accuracy models: about 1 GB of n-grams, 10 s of CPU
def test_the_shipped_high_accuracy_models_detect_news_sentences(settings):
    """The other tests run the low-accuracy models (tests/conftest.py); production ships "high"."""
    settings.NEWSDESK_LANGUAGE_ACCURACY = "high"
    for language, texts in SENTENCES.items():
        for sentence in texts:
            detected, confidence = detect_language(text=sentence)
            assert (detected, language) == (language, language), sentence
            assert 0.0 < confidence <= 1.0


def test_text_without_letters_is_unknown():
    assert detect_language(text="12:30 — 4,5 % 🔥🚀") == ("", 0.0)
    assert detect_language(text="   ") == ("", 0.0)


def test_only_configured_languages_are_answered(settings):
    """A detector restricted to a set can only answer languages of that set."""
    detected, _ = detect_language(text="Il consiglio dei ministri ha approvato la legge di bilancio nella notte.")
    assert detected in {language_code_normalise(code=c) for c in settings.NEWSDESK_LANGUAGES}
    assert len(languages_configured()) == len(settings.NEWSDESK_LANGUAGES)


def test_japanese_corpus_sample_is_detected():
    path = SHARED / "langid" / "ja.txt"
    if not path.exists():
        pytest.skip("../shared/corpora/langid/ja.txt is absent")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:50]
    assert sum(detect_language(text=line)[0] == "ja" for line in lines) >= 48


@pytest.mark.parametrize(
    ("code", "normal"), [("pt-BR", "pt"), ("EN_us", "en"), ("no", "nb"), ("iw", "he"), ("", ""), ("x1", "")]
)
def test_language_code_normalise(code, normal):
    assert language_code_normalise(code=code) == normal


@pytest.mark.parametrize(
    ("declared", "detected", "confidence", "chosen"),
    [
        ("en", "es", 0.95, "es"),  # a wrong declaration loses to a confident detection
        ("en", "es", 0.2, "en"),  # ...but not to a guess
        ("", "es", 0.1, "es"),  # nothing declared: take the guess
        ("es", "", 0.0, "es"),  # no letters: the declaration stands
        ("ms", "id", 0.99, "ms"),  # near-identical written standards: the publisher knows
        ("nb", "da", 0.9, "nb"),
        ("pt-BR", "pt", 0.9, "pt"),
    ],
)
def test_choose_language(declared, detected, confidence, chosen, settings):
    settings.NEWSDESK_LANGUAGE_MIN_CONFIDENCE = 0.5
    assert choose_language(declared=declared, detected=detected, confidence=confidence) == chosen
