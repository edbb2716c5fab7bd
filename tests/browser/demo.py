"""Realistic demo content for the dashboard screenshot (docs/dashboard.png)."""

from __future__ import annotations

from newsdesk.models import TranslationStatus
from tests.support.articles import make_article, make_source, make_story

DEMO = [
    # outlet, country, language, minutes ago, English title, English summary, original title, status, story key
    ("El Financiero", "MX", "es", 0, "Critical minerals should not be negotiated separately",
     "The U.S. government emphasizes the importance of securing critical minerals to strengthen domestic industry "
     "and reduce dependency on China, highlighted during a recent ministerial meeting with global partners.",
     "Los minerales críticos no deben negociarse por separado", TranslationStatus.DONE, "minerals"),
    ("Le Monde", "FR", "fr", 25, "Paris backs a common European front on critical minerals",
     "France wants the European Union to negotiate supply agreements for lithium and rare earths as a bloc.",
     "Paris plaide pour un front européen commun sur les minerais critiques", TranslationStatus.DONE, "minerals"),
    ("BBC News — World", "GB", "en", 40, "US convenes 55 countries on critical minerals supply chains",
     "Vice President Vance proposed a framework for cooperation on minerals at a State Department meeting.",
     "US convenes 55 countries on critical minerals supply chains", TranslationStatus.NOT_NEEDED, "minerals"),
    ("Folha de S.Paulo", "BR", "pt", 55, "Brazil's lithium output hits a record as new mines open",
     "Production in Minas Gerais doubled in a year, the mining agency said, with most exports going to Asia.",
     "Produção de lítio no Brasil bate recorde com novas minas", TranslationStatus.DONE, "lithium"),
    ("Der Spiegel", "DE", "de", 70, "Neue Förderregeln für seltene Erden",
     "Die Bundesregierung will die Genehmigung von Bergbauprojekten beschleunigen.",
     "Neue Förderregeln für seltene Erden", TranslationStatus.PENDING, None),
    ("El País", "ES", "es", 90, "Spain and Mexico sign an agreement on renewable hydrogen",
     "The two governments will fund joint research and ease permits for pilot plants on both sides of the Atlantic.",
     "España y México firman un acuerdo sobre hidrógeno renovable", TranslationStatus.DONE, None),
]  # fmt: skip


ORIGINAL_SUMMARIES = {
    "es": "El gobierno de Estados Unidos destaca la importancia de asegurar los minerales críticos para "
    "fortalecer la industria nacional y reducir la dependencia de China.",
    "fr": "La France souhaite que l'Union européenne négocie en bloc ses accords d'approvisionnement.",
    "pt": "A produção em Minas Gerais dobrou em um ano, informou a agência de mineração.",
    "de": "Die Bundesregierung will die Genehmigung von Bergbauprojekten beschleunigen.",
}


def demo_load() -> None:
    stories = {"minerals": make_story(sources=3, headline="Critical minerals talks"), "lithium": make_story(sources=2)}
    for outlet, country, lang, ago, title, summary, orig, status, key in DEMO:
        source = make_source(name=outlet, country=country, language=lang)
        translated = status in (TranslationStatus.DONE, TranslationStatus.NOT_NEEDED)
        make_article(
            source=source,
            minutes_ago=ago,
            title_en=title if translated else "",
            summary_en=summary if translated else "",
            title_orig=orig,
            summary_orig=ORIGINAL_SUMMARIES.get(lang, summary),
            status=status,
            story=stories.get(key),
        )
