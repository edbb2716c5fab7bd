"""The one language rule: what "original language" means, and language names.

An article has two language facts:

- **declared**: what the feed, the drop file or the source says
  (``Article.language_declared``);
- **detected**: what lingua reads in the text we hold
  (``Article.language_detected``); the effective ``Article.language`` is the
  detected one when confident, else the declared one. It decides whether the
  text needs translating.

The **original language** (the card's "(ES)", the story page, the
``lang`` filter, ``nd:original_language`` in feeds, admin) is the language
the outlet published in: the effective language, except when the text we
hold is English and the outlet declared another language, i.e. the outlet
(or a drop file) gave us its own English version. The seed card is that
case: El Financiero, declared ES, English text, shown "(ES)".

Where declared and detected disagree, every place that shows the language
also says so (:func:`language_note`).

This module sits below every stage (it imports only Django's ``Q``), so the
filter, the cards, the feeds and admin all call the same functions.
"""

from __future__ import annotations

from django.db.models import Q

ENGLISH = "en"

LANGUAGE_NAMES: dict[str, str] = {
    "af": "Afrikaans", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician",
    "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "ko": "Korean", "la": "Latin", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian",
    "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "nb": "Norwegian Bokmål", "nl": "Dutch",
    "nn": "Norwegian Nynorsk", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "st": "Sotho", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tn": "Tswana", "tr": "Turkish", "ts": "Tsonga", "uk": "Ukrainian",
    "ur": "Urdu", "vi": "Vietnamese", "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip

# Codes feeds use that are aliases of one another.
_ALIASES = {"no": "nb", "iw": "he", "in": "id", "ji": "yi", "fil": "tl"}


def language_code_normalise(*, code: str) -> str:
    """'pt-BR' -> 'pt', 'EN_us' -> 'en', 'no' -> 'nb'; '' for nothing usable."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    base = _ALIASES.get(base, base)
    return base if base.isascii() and base.isalpha() and 2 <= len(base) <= 3 else ""


def language_name(code: str) -> str:
    """'es' -> 'Spanish'; an unknown code is shown as itself, upper-cased."""
    code = (code or "").lower()
    return LANGUAGE_NAMES.get(code, code.upper())


def original_language(*, language: str, declared: str) -> str:
    """The language the outlet published in (see the module docstring)."""
    declared = language_code_normalise(code=declared)
    if language == ENGLISH and declared and declared != ENGLISH:
        return declared
    return language or declared


def original_language_q(codes) -> Q:
    """Articles whose :func:`original_language` is one of ``codes``: the ``lang`` filter.

    The same rule as the function, written over the stored columns (declared
    codes are stored normalised), so ``lang=es`` finds the seed card.
    """
    codes = sorted({c for c in (language_code_normalise(code=v) for v in codes) if c})
    if not codes:
        return Q(pk__in=[])
    others = [c for c in codes if c != ENGLISH]
    q = Q(language__in=others) | Q(language="", language_declared__in=codes)
    if others:
        q |= Q(language=ENGLISH, language_declared__in=others)
    if ENGLISH in codes:
        q |= Q(language=ENGLISH, language_declared__in=["", ENGLISH])
    return q


def language_note(*, language: str, declared: str, detected: str) -> str:
    """What a card says when declared and detected disagree, else ''.

    'Declared Spanish; the text is in English' (the outlet's own English
    version), or 'Declared Spanish; detected Portuguese' (the detector won).
    """
    declared = language_code_normalise(code=declared)
    detected = language_code_normalise(code=detected)
    if not declared or not detected or declared == detected:
        return ""
    original = original_language(language=language, declared=declared)
    if original == declared and language == ENGLISH:
        return f"Declared {language_name(declared)}; the text is in English"
    if language == detected:
        return f"Declared {language_name(declared)}; detected {language_name(detected)}"
    return f"Declared {language_name(declared)}; the detector guessed {language_name(detected)} (not confident)"


def display_title(row) -> str:
    """The title a reader is shown: the English one when we have it, else the original.

    ``row`` is anything with ``title_en`` and ``title_orig``: an Article, a feed
    item, a card row.
    """
    return row.title_en or row.title_orig


def display_summary(row) -> str:
    """The summary a reader is shown: the English one when we have it, else the original."""
    return row.summary_en or row.summary_orig
