"""Translation through deep-translator, with a database cache.

Foundation version: an ordered provider chain and the Translation cache.
The translation issue adds chunking, deadlines, breakers and budgets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from deep_translator import GoogleTranslator, LibreTranslator
from deep_translator.base import BaseTranslator
from django.conf import settings

from newsdesk.models import Translation


class TranslationFailed(Exception):
    pass


@dataclass
class TranslationResult:
    text: str
    provider: str


def _provider(name: str, source: str, target: str) -> BaseTranslator:
    if name == "google":
        translator = GoogleTranslator(source=source, target=target)
        if settings.NEWSDESK_GOOGLE_TRANSLATE_URL:
            translator._base_url = settings.NEWSDESK_GOOGLE_TRANSLATE_URL
        return translator
    if name == "libre":
        return LibreTranslator(
            source=source,
            target=target,
            base_url=settings.NEWSDESK_LIBRETRANSLATE_URL,
            api_key=settings.NEWSDESK_LIBRETRANSLATE_KEY or None,
            use_free_api=not settings.NEWSDESK_LIBRETRANSLATE_KEY,
        )
    raise TranslationFailed(f"unknown translation provider {name!r}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def translate_text(*, text: str, source_language: str, target_language: str = "en") -> TranslationResult:
    if not text.strip():
        return TranslationResult(text=text, provider="")
    digest = text_hash(text)
    errors: list[str] = []
    for name in settings.NEWSDESK_TRANSLATORS:
        cached = Translation.objects.filter(
            text_hash=digest, source_language=source_language, target_language=target_language, provider=name
        ).first()
        if cached is not None:
            return TranslationResult(text=cached.translated, provider=name)
        try:
            translated = _provider(name, source_language or "auto", target_language).translate(text)
        except Exception as exc:  # deep-translator raises many unrelated types
            errors.append(f"{name}: {type(exc).__name__}")
            continue
        if not translated:
            errors.append(f"{name}: empty result")
            continue
        Translation.objects.get_or_create(
            text_hash=digest,
            source_language=source_language,
            target_language=target_language,
            provider=name,
            defaults={"translated": translated, "characters": len(text)},
        )
        return TranslationResult(text=translated, provider=name)
    raise TranslationFailed("; ".join(errors) or "no translation provider configured")
