"""Articles for the coverage (Similar Coverage) tests: English headlines at given times, and two small stories."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from newsdesk.models import Article, Source, TranslationStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_seq = count(1)


def make_article(
    *,
    title: str,
    summary: str = "",
    language: str = "en",
    country: str = "GB",
    title_en: str | None = None,
    status: str = TranslationStatus.NOT_NEEDED,
    at: datetime = T0,
    source: Source | None = None,
) -> Article:
    n = next(_seq)
    source = source or Source.objects.create(name=f"Outlet {n}", country=country, language=language)
    return Article.objects.create(
        source=source,
        dedupe_key=f"k{n}",
        url=f"https://example.org/{n}",
        title_orig=title,
        summary_orig=summary,
        title_en=title if title_en is None else title_en,
        summary_en=summary if title_en is None else "",
        language=language,
        country=country,
        translation_status=status,
        published_at=at,
    )


QUAKE = [
    ("Earthquake of magnitude 7.1 strikes Sumatra, tsunami warning issued", "A 7.1 earthquake hit Sumatra on Monday."),
    (
        "Sumatra earthquake: magnitude 7.1 tremor triggers tsunami alert",
        "Indonesia issued a tsunami warning for Sumatra.",
    ),
    ("Tsunami warning after strong 7.1 quake off Sumatra, Indonesia", "The quake struck off Sumatra's west coast."),
]
FED = ("Federal Reserve raises interest rates by a quarter point", "Jerome Powell said inflation remains too high.")


def french_quake(*, at: datetime = T0) -> Article:
    """QUAKE's third report from a French outlet, its translation done: English title QUAKE[2][0]."""
    return make_article(
        title="Séisme de magnitude 7,1 à Sumatra, alerte au tsunami",
        title_en=QUAKE[2][0],
        summary=QUAKE[2][1],
        language="fr",
        country="FR",
        status=TranslationStatus.DONE,
        at=at,
    )


# QUAKE as a Spanish-language outlet told it: the short form, and the long one naming Indonesia and the day.
QUAKE_ES = ("Terremoto de magnitud 7,1 sacude Sumatra; alerta de tsunami", "Un sismo de 7,1 golpeó Sumatra.")
QUAKE_ES_LONG = (
    "Terremoto de magnitud 7,1 sacude Sumatra; alerta de tsunami en Indonesia",
    "Un sismo de 7,1 golpeó Sumatra el lunes.",
)


def spanish_quake(
    *,
    text: tuple[str, str] = QUAKE_ES,
    title_en: str = "",
    status: str = TranslationStatus.PENDING,
    country: str = "MX",
    at: datetime = T0,
) -> Article:
    """QUAKE reported in Spanish: untranslated (no English title) unless ``title_en`` is given."""
    return make_article(
        title=text[0], summary=text[1], title_en=title_en, language="es", country=country, status=status, at=at
    )
