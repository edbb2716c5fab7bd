"""The optional semantic backend: the numpy encoder, its place in the score, storage, and its absence.

Tests marked ``needs_backend`` run only where requirements-semantic.txt is
installed (``make semantic``); the others prove that without it, or with
``NEWSDESK_COVERAGE_SEMANTIC=off``, nothing of it runs.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from newsdesk.coverage import semantic
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.engine import Params, doc_assign, pair_similarity
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import text_features
from newsdesk.models import Article, CoverageEmbedding, CoverageStory, TranslationStatus
from tests.test_coverage_cluster import FED, QUAKE, T0, make_article

needs_backend = pytest.mark.skipif(
    not semantic.available(), reason=f"semantic backend not installed: {semantic.INSTALL_HINT}"
)

# Paraphrases that share one word: lexically below the join bar, semantically close.
IPHONE = "Apple unveils new iPhone with a bigger screen"
IPHONE_PARAPHRASE = "Apple shows off its latest smartphone, which has a larger display"
APPLE_SHARES = "Apple shares fall as investors worry about sales in China"


# -- without the backend ------------------------------------------------------


def test_off_disables_and_on_requires_the_packages(settings, monkeypatch):
    monkeypatch.setattr(semantic, "available", lambda: True)
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"
    assert semantic.semantic_enabled() is False
    assert semantic.backend_name() == "lexical"
    settings.NEWSDESK_COVERAGE_SEMANTIC = "auto"
    assert semantic.semantic_enabled() is True
    monkeypatch.setattr(semantic, "available", lambda: False)
    assert semantic.semantic_enabled() is False
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    with pytest.raises(ImproperlyConfigured, match=r"requirements-semantic\.txt"):
        semantic.semantic_enabled()


def test_only_english_text_is_embedded():
    english = Article(title_en="Quake hits Sumatra", summary_en="  A strong\nquake. ", translation_status="not_needed")
    assert semantic.article_english_text(english) == "Quake hits Sumatra. A strong quake."
    translated = Article(title_en="Quake hits Sumatra!", summary_en="Lead", translation_status="done")
    assert semantic.article_english_text(translated) == "Quake hits Sumatra! Lead"
    for status in (TranslationStatus.PENDING, TranslationStatus.FAILED):
        pending = Article(title_orig="Erdbeben", title_en="", translation_status=status)
        assert semantic.article_english_text(pending) is None


@pytest.mark.django_db(transaction=True)
def test_with_the_backend_off_assignment_stores_no_embedding(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"
    stories = [article_assign_story(article=make_article(title=t, summary=s)) for t, s in QUAKE]
    assert len({s.id for s in stories}) == 1
    assert not CoverageEmbedding.objects.exists()
    assert CoverageStory.objects.get(story_id=stories[0].id).embedding is None


def test_without_embeddings_the_score_is_the_lexical_one():
    a, b = text_features(title=QUAKE[0][0], body=QUAKE[0][1]), text_features(title=QUAKE[1][0], body=QUAKE[1][1])
    store = MemoryStore()
    store.df_add(list(a.terms))
    store.df_add(list(b.terms))
    lexical_only = dataclasses.replace(Params(), semantic_weight=0.0)
    assert pair_similarity(a=a, b=b, store=store, params=Params()) == pair_similarity(
        a=a, b=b, store=store, params=lexical_only
    )


# -- with the backend ---------------------------------------------------------


@needs_backend
def test_encoder_reproduces_the_models_published_similarities():
    """sentence-transformers' documented example for all-MiniLM-L6-v2: 0.6660, 0.1046, 0.1411."""
    vecs = semantic.encoder().embed(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert vecs.shape == (3, 384)
    sims = vecs @ vecs.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=2e-3)
    assert [float(sims[i, i]) for i in range(3)] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)


@needs_backend
def test_batching_and_padding_do_not_change_an_embedding():
    texts = [IPHONE, "Short.", QUAKE[0][0] + " " + QUAKE[0][1] * 3]
    together = semantic.encoder().embed(texts, batch_size=3)
    for i, text in enumerate(texts):
        alone = semantic.encoder().embed([text])[0]
        assert float(alone @ together[i]) == pytest.approx(1.0, abs=1e-5)


@needs_backend
def test_long_text_is_cut_at_256_tokens():
    long = " ".join(["Parliament debated the budget for many hours on Tuesday."] * 60)
    a, b = semantic.encoder().embed([long, long + " Then a completely different story about football began."])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-5)
    assert semantic.encoder().max_tokens == 256


@needs_backend
def test_paraphrases_join_with_the_backend_and_not_without():
    vecs = semantic.encoder().embed([IPHONE, IPHONE_PARAPHRASE, APPLE_SHARES])
    texts = [IPHONE, IPHONE_PARAPHRASE, APPLE_SHARES]

    def run(with_vectors: bool) -> list[int]:
        store, params = MemoryStore(), Params()
        out = []
        for key, text in enumerate(texts, 1):
            at = (T0 + timedelta(minutes=key)).timestamp()
            emb = vecs[key - 1] if with_vectors else None
            result = doc_assign(
                doc_key=key,
                at=at,
                features=text_features(title=text, body=""),
                store=store,
                params=params,
                embedding=emb,
            )
            out.append(result.story)
        return out

    lexical = run(False)
    assert lexical[1] != lexical[0]  # lexically too far apart
    mixed = run(True)
    assert mixed[1] == mixed[0]  # the same news, said differently
    assert mixed[2] != mixed[0]  # same company, another story


@needs_backend
@pytest.mark.django_db(transaction=True)
def test_assignment_stores_embeddings_and_keeps_story_sums(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    articles = [make_article(title=t, summary=s) for t, s in QUAKE]
    stories = [article_assign_story(article=a) for a in articles]
    other = article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    assert len({s.id for s in stories}) == 1 and other.id != stories[0].id
    rows = {r.article_id: semantic.vector_from(r.vector) for r in CoverageEmbedding.objects.all()}
    assert set(rows) == {*(a.id for a in articles), Article.objects.get(story=other).id}
    expected = sum(rows[a.id] for a in articles)
    stored = semantic.vector_from(CoverageStory.objects.get(story_id=stories[0].id).embedding, dtype="float32")
    assert stored == pytest.approx(expected, abs=1e-4)
    # Computed once: a second assignment reads the stored vector (same digest).
    before = CoverageEmbedding.objects.get(article_id=articles[0].id).digest
    article_assign_story(article=Article.objects.get(id=articles[0].id))
    assert CoverageEmbedding.objects.get(article_id=articles[0].id).digest == before


@needs_backend
@pytest.mark.django_db(transaction=True)
def test_untranslated_article_has_no_embedding_and_still_clusters(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    german = make_article(
        title="Erdbeben der Stärke 7,1 erschüttert Sumatra, Tsunami-Warnung",
        language="de",
        title_en="",
        status=TranslationStatus.PENDING,
    )
    article_assign_story(article=german)
    assert not CoverageEmbedding.objects.filter(article_id=german.id).exists()
    assert Article.objects.get(id=german.id).story_id == first.id


@needs_backend
@pytest.mark.django_db(transaction=True)
def test_translation_arriving_later_adds_the_embedding_and_keeps_the_sums(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    quake = [article_assign_story(article=make_article(title=t, summary=s)) for t, s in QUAKE[:2]]
    article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    german = make_article(
        title="Erdbeben der Stärke 7,1 vor Sumatra: Tsunami-Warnung für Indonesien",
        language="de",
        title_en="",
        status=TranslationStatus.PENDING,
    )
    article_assign_story(article=german)
    assert not CoverageEmbedding.objects.filter(article_id=german.id).exists()
    # The translation arrives; enrichment assigns the article again.
    german.title_en, german.summary_en = QUAKE[2]
    german.translation_status = TranslationStatus.DONE
    german.save()
    assert article_assign_story(article=Article.objects.get(id=german.id)).id == quake[0].id
    vec = semantic.vector_from(CoverageEmbedding.objects.get(article_id=german.id).vector)
    fresh = semantic.encoder().embed([semantic.embed_text(title=QUAKE[2][0], lead=QUAKE[2][1])])[0]
    assert float(vec @ fresh) > 0.999
    for row in CoverageStory.objects.all():
        members = Article.objects.filter(story_id=row.story_id).values_list("id", flat=True)
        vectors = CoverageEmbedding.objects.filter(article_id__in=members).values_list("vector", flat=True)
        expected = sum(semantic.vector_from(v) for v in vectors)
        assert semantic.vector_from(row.embedding, dtype="float32") == pytest.approx(expected, abs=1e-3)


@needs_backend
@pytest.mark.django_db(transaction=True)
def test_recluster_reuses_stored_embeddings_and_rebuilds_the_same_story_sums(settings):
    from tests.test_coverage_recluster import corpus, grouping, recluster

    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    articles = corpus()
    for a in articles:
        article_assign_story(article=a)
    live = grouping()
    sums = {
        frozenset(Article.objects.filter(story_id=c.story_id).values_list("id", flat=True)): semantic.vector_from(
            c.embedding, dtype="float32"
        )
        for c in CoverageStory.objects.all()
    }
    CoverageEmbedding.objects.filter(article_id=articles[0].id).delete()  # as if enriched before the install
    stored = dict(CoverageEmbedding.objects.values_list("article_id", "vector"))
    recluster()
    assert grouping() == live
    assert CoverageEmbedding.objects.count() == len(articles)  # the missing one computed, the rest reused
    assert all(CoverageEmbedding.objects.get(article_id=k).vector == bytes(v) for k, v in stored.items())
    for c in CoverageStory.objects.all():
        members = frozenset(Article.objects.filter(story_id=c.story_id).values_list("id", flat=True))
        assert semantic.vector_from(c.embedding, dtype="float32") == pytest.approx(sums[members], abs=1e-3)
