"""Cross-language by default: one event told in Spanish, English and Portuguese is one story, untranslated.

The default install (requirements.txt) carries a multilingual sentence
encoder; these tests run the shipped settings (``NEWSDESK_COVERAGE_SEMANTIC``
and ``..._MODEL`` at ``auto``) with no translation provider configured,
through the same flow the enrichment worker runs (language detection, then
Similar Coverage). Loading the model is the slow part, so the model-loading
tests of the default suite are these few.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from newsdesk.coverage import semantic
from newsdesk.coverage.cluster import coverage_params
from newsdesk.coverage.engine import pair_similarity
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.semantic import embed_text
from newsdesk.coverage.text import text_features
from newsdesk.flow import articles_finish
from newsdesk.models import Article, Source, Story, TranslationStatus
from tests.support.coverage import make_article

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
_seq = count(1)

# One event (Brazil's central bank raises its rate a third time), three
# outlets, three languages, little vocabulary in common across them.
BRAZIL = [
    (
        "BR",
        "pt",
        "Banco Central do Brasil eleva os juros pela terceira vez seguida",
        "A autoridade monetária aumentou a taxa básica em meio ponto para conter a inflação.",
    ),
    (
        "MX",
        "es",
        "El banco central de Brasil sube las tasas de interés por tercera vez consecutiva",
        "La autoridad monetaria elevó la tasa básica medio punto para contener la inflación.",
    ),
    (
        "GB",
        "en",
        "Brazil's central bank raises interest rates for a third straight time",
        "The monetary authority lifted its benchmark rate by half a point to curb inflation.",
    ),
]
# Another event of another kind, in Spanish: it stays apart.
OTHER = ("AR", "es", "Argentina analiza nuevas reglas para la minería de litio", "El gobierno prepara un decreto.")


def stored(country: str, language: str, title: str, summary: str, *, minutes: int) -> Article:
    """An article as ingestion stores it: original text only, language not yet detected."""
    source = Source.objects.create(name=f"Outlet {country} {next(_seq)}", country=country, language=language)
    return make_article(
        title=title,
        summary=summary,
        title_en="",
        language="",
        country=country,
        status=TranslationStatus.PENDING,
        at=T0 + timedelta(minutes=minutes),
        source=source,
    )


@pytest.fixture
def no_translation(settings):
    settings.NEWSDESK_TRANSLATORS = []
    return settings


@pytest.mark.django_db(transaction=True)
def test_one_event_in_three_languages_is_one_story_with_the_default_install(no_translation):
    assert semantic.semantic_enabled(), (
        f"the default install carries a multilingual model: {semantic.model().install_hint}"
    )
    assert not semantic.model().english_only
    made = [stored(*row, minutes=7 * i) for i, row in enumerate(BRAZIL)]
    other = stored(*OTHER, minutes=3)
    result = articles_finish(article_ids=[a.id for a in [*made, other]])
    assert not result.failed and sorted(result.finished) == sorted(a.id for a in [*made, other])
    rows = list(
        Article.objects.filter(id__in=[a.id for a in made]).values_list("language", "translation_status", "story_id")
    )
    assert sorted(lang for lang, _, _ in rows) == ["en", "es", "pt"]
    assert {status for _, status, _ in rows} <= {
        TranslationStatus.NOT_NEEDED,
        TranslationStatus.FAILED,
        TranslationStatus.PENDING,
    }
    assert not Article.objects.filter(id__in=[a.id for a in made]).exclude(language="en").exclude(title_en="").exists()
    stories = {story for _, _, story in rows}
    assert len(stories) == 1, "untranslated, the three reports must still form one story"
    story = Story.objects.get(id=stories.pop())
    assert (story.article_count, story.source_count, story.language_count) == (3, 3, 3)
    assert Article.objects.get(id=other.id).story_id != story.id


def test_the_model_is_what_ties_the_english_report_to_the_others():
    """What the model adds. Words alone (off, or its package absent) tie the English report to the
    Spanish one only just above the join bar (a shared stem or two) and leave it below the bar with
    the Portuguese one; the model ties it to both, well above."""
    params = coverage_params()
    chosen = semantic.model()
    feats = [text_features(title=title, body=lead, grams=False) for _, _, title, lead in BRAZIL]
    vecs = semantic.encoder().embed([embed_text(title=t, lead=b, chars=chosen.lead_chars) for _, _, t, b in BRAZIL])
    store = MemoryStore()
    for f in feats:
        store.df_add(list(f.terms))
    pt, es, en = range(3)

    def score(i: int, j: int, *, model: bool) -> float:
        if not model:
            return pair_similarity(a=feats[i], b=feats[j], store=store, params=params)
        return pair_similarity(
            a=feats[i], b=feats[j], store=store, params=params, embedding_a=vecs[i], embedding_b=vecs[j]
        )

    # Either multilingual model (the default install's, or the optional one) lifts both ties.
    assert score(en, pt, model=False) < params.join_threshold <= score(en, pt, model=True)
    assert score(en, pt, model=True) >= score(en, pt, model=False) + 0.05
    assert score(en, es, model=True) >= score(en, es, model=False) + 0.05
