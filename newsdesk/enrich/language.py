"""Language detection with lingua, restricted to the configured languages."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Confidence above which the detected language overrides the declared one.
OVERRIDE_CONFIDENCE = 0.6


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    languages: list[Language] = []
    for code in settings.NEWSDESK_LANGUAGES:
        try:
            languages.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError):
            continue
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect_language(*, text: str) -> tuple[str, float]:
    """Return (ISO 639-1 code, confidence 0..1), or ("", 0.0) when unsure."""
    text = (text or "").strip()
    if not text:
        return "", 0.0
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return "", 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)


def choose_language(*, declared: str, detected: str, confidence: float) -> str:
    """The effective original language: detected wins when it is confident."""
    if detected and (confidence >= OVERRIDE_CONFIDENCE or not declared):
        return detected
    return declared or detected
