"""Language detection with lingua, restricted to the configured languages.

Memory is the main cost: lingua's high-accuracy models for ~40 languages
take about 950 MB of RSS once loaded, low-accuracy (trigram-only) models
about 100 MB. High accuracy matters for short texts (lingua uses 1- to
5-grams below 120 characters and trigrams only above), so a one-line title
is detected much better with it. We therefore keep high accuracy by default
and load it ONCE per worker node: the Celery master builds the detector at
``worker_init`` (after task modules are imported, before the prefork pool
forks; see newsdesk/ops/memory.py), so every pool process shares the same read-only pages copy-on-write
instead of loading its own copy. The web process never detects, so it never
pays. ``NEWSDESK_LANGUAGE_ACCURACY=low`` trades short-text accuracy for a
tenth of the memory on small machines. Figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from newsdesk.languages import language_code_normalise
from newsdesk.ops.memory import worker_preload_register

log = logging.getLogger(__name__)

# Publishers know their own language better than a detector can tell apart
# near-identical written standards. When the declared and detected languages
# fall in one of these groups, the declared one stands. Malay is left out of
# the default detection set for the same reason (lingua labels 70% of Malay
# sentences Indonesian); a source declared "ms" keeps "ms" through this rule.
CONFUSABLE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"ms", "id"}),
    frozenset({"nb", "nn", "no", "da"}),
    frozenset({"hr", "sr", "bs", "sl"}),
    frozenset({"cs", "sk"}),
    frozenset({"es", "ca", "gl"}),
    frozenset({"pt", "gl"}),
)

# lingua only needs the beginning of a long text; detection time grows with
# length, and 250 characters (a title and the start of a summary) already
# give trigram-only detection its full accuracy.
MAX_DETECT_CHARS = 250


def languages_configured() -> list[Language]:
    languages: list[Language] = []
    for code in settings.NEWSDESK_LANGUAGES:
        iso = getattr(IsoCode639_1, language_code_normalise(code=code).upper(), None)
        if iso is None:
            log.warning("event=language_unknown code=%s", code)
            continue
        languages.append(Language.from_iso_code_639_1(iso))
    return languages


@lru_cache(maxsize=4)
def _build(codes: tuple[str, ...], accuracy: str) -> LanguageDetector:
    languages = languages_configured()
    builder = LanguageDetectorBuilder.from_languages(*languages) if len(languages) >= 2 else None
    if builder is None:
        raise ValueError("NEWSDESK_LANGUAGES needs at least two known ISO 639-1 codes")
    if accuracy == "low":
        builder = builder.with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


def language_detector() -> LanguageDetector:
    """The process-wide detector for the configured languages and accuracy."""
    return _build(tuple(settings.NEWSDESK_LANGUAGES), settings.NEWSDESK_LANGUAGE_ACCURACY)


@worker_preload_register
def _preload_in_worker_master() -> None:
    # Runs in the Celery master before the prefork pool forks: children share the models.
    if settings.NEWSDESK_LANGUAGE_PRELOAD:
        language_detector()
        log.info("event=language_detector_preloaded accuracy=%s", settings.NEWSDESK_LANGUAGE_ACCURACY)


def detect_language(*, text: str) -> tuple[str, float]:
    """Return (ISO 639-1 code, confidence 0..1), or ("", 0.0) when the text has no letters."""
    text = (text or "").strip()[:MAX_DETECT_CHARS]
    if not any(ch.isalpha() for ch in text):
        return "", 0.0
    values = language_detector().compute_language_confidence_values(text)
    if not values:
        return "", 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)


def languages_confusable(*, a: str, b: str) -> bool:
    return any(a in group and b in group for group in CONFUSABLE_GROUPS)


def choose_language(*, declared: str, detected: str, confidence: float) -> str:
    """The effective original language.

    The detected language wins when it is confident, except between
    near-identical languages, where the publisher's declaration stands.
    """
    declared = language_code_normalise(code=declared)
    if not detected:
        return declared
    if not declared:
        return detected
    if detected == declared or languages_confusable(a=declared, b=detected):
        return declared
    if confidence >= settings.NEWSDESK_LANGUAGE_MIN_CONFIDENCE:
        return detected
    return declared
