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


# A story, a late report of it six months on, and a same-kind event in another
# place (the late tier, engine.Params.late_*), with unrelated news around them
# so that document frequencies tell rare names from common words.
FILLER = [
    (
        "Chelsea beat Arsenal in the London derby",
        "Two goals in the second half gave Chelsea the points at Stamford Bridge.",
    ),
    (
        "Volcano erupts in Iceland, flights cancelled",
        "Ash from the eruption near Grindavik closed Keflavik airport for a day.",
    ),
    ("New telescope photographs a distant galaxy", "The James Webb telescope sent back images of a galaxy far away."),
    (
        "Central bank holds interest rates steady",
        "The European Central Bank kept its rate, said Christine Lagarde in Frankfurt.",
    ),
    (
        "Floods hit northern Italy after days of rain",
        "Rivers burst their banks in Emilia-Romagna, and the army evacuated villages.",
    ),
    (
        "Tech company unveils a folding phone",
        "Samsung showed the new device in Seoul and said it would go on sale in August.",
    ),
    ("Marathon record falls in Berlin", "Eliud Kipchoge ran the Berlin course in two hours and one minute on Sunday."),
    ("Parliament passes a new budget", "Lawmakers in Ottawa approved the spending plan after a long debate."),
]
ZOO = [
    (
        "Gorilla killed after boy falls into enclosure at Cincinnati Zoo",
        "Harambe, a western lowland gorilla, was shot dead at the Cincinnati Zoo and Botanical Garden on Saturday "
        "after a boy climbed into its enclosure, zoo director Thane Maynard said.",
    ),
    (
        "Cincinnati Zoo defends decision to shoot gorilla Harambe",
        "Thane Maynard, director of the Cincinnati Zoo and Botanical Garden, said the zoo made the right call in "
        "killing Harambe after a boy fell into the moat.",
    ),
    (
        "Outrage grows after Cincinnati Zoo kills gorilla to save boy",
        "Animal rights groups criticised the Cincinnati Zoo on Sunday for shooting Harambe, a western lowland "
        "gorilla, after a boy entered its enclosure.",
    ),
]
ZOO_LATE = (
    "Six months on, the gorilla's death still haunts the Cincinnati Zoo",
    "Six months after Harambe the gorilla was shot at the Cincinnati Zoo and Botanical Garden to save a boy who "
    "fell into its enclosure, director Thane Maynard says visitors still leave flowers.",
)
ZOO_OTHER = (
    "Gorilla shot dead at a zoo after a girl climbs into its enclosure",
    "Officials at the Dallas Zoo said on Tuesday that Zola, a western lowland gorilla, was shot dead after a girl "
    "climbed into its enclosure, zoo director Gregg Hudson said.",
)
