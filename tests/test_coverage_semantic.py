"""The semantic backend: the encoders, their place in the score, storage, and their absence.

The default install carries multilingual USE v3 (``needs_use``: it is in
requirements.txt). Tests marked ``needs_minilm`` run only where
requirements-semantic.txt is installed (``make semantic``), ``needs_e5``
where requirements-semantic-multilingual.txt is (``make
semantic-multilingual``), ``any_model`` once per installed model; the others
prove that without them, or with ``NEWSDESK_COVERAGE_SEMANTIC=off``, nothing
of it runs.
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
from tests.support.coverage import FED, QUAKE, QUAKE_ES, T0, make_article


def installed(model: semantic.Model) -> bool:
    return all(map(semantic._importable, model.packages))


needs_minilm = pytest.mark.skipif(
    not installed(semantic.MINILM), reason=f"MiniLM backend not installed: {semantic.MINILM.install_hint}"
)
needs_use = pytest.mark.skipif(
    not installed(semantic.USE_V3), reason=f"default multilingual backend not installed: {semantic.USE_V3.install_hint}"
)
needs_e5 = pytest.mark.skipif(
    not installed(semantic.E5_SMALL), reason=f"multilingual backend not installed: {semantic.E5_SMALL.install_hint}"
)


@pytest.fixture
def minilm(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.MINILM.key


@pytest.fixture
def e5(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.E5_SMALL.key


def pending_german(title: str) -> Article:
    """A German article whose translation has not arrived."""
    return make_article(title=title, language="de", title_en="", status=TranslationStatus.PENDING)


def assert_story_sum_is_its_members(story_id: int) -> None:
    """The story's stored embedding is the sum of its members' stored vectors."""
    members = Article.objects.filter(story_id=story_id).values_list("id", flat=True)
    vectors = CoverageEmbedding.objects.filter(article_id__in=members).values_list("vector", flat=True)
    stored = semantic.vector_from(CoverageStory.objects.get(story_id=story_id).embedding, dtype="float32")
    assert stored == pytest.approx(sum(semantic.vector_from(v) for v in vectors), abs=1e-3)


@pytest.fixture
def use(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.USE_V3.key


@pytest.fixture(params=[semantic.MINILM, semantic.E5_SMALL, semantic.USE_V3], ids=lambda m: m.key)
def any_model(request, settings):
    """Each installed model in turn (the tests that hold for all)."""
    if not installed(request.param):
        pytest.skip(f"{request.param.key} not installed: {request.param.install_hint}")
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = request.param.key
    return request.param


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
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.MINILM.key
    with pytest.raises(ImproperlyConfigured, match=r"requirements-semantic\.txt"):
        semantic.semantic_enabled()
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.E5_SMALL.key
    with pytest.raises(ImproperlyConfigured, match=r"requirements-semantic-multilingual\.txt"):
        semantic.semantic_enabled()


def test_auto_takes_the_multilingual_model_when_installed_else_minilm(settings, monkeypatch):
    from newsdesk.coverage.cluster import coverage_params

    have: set[str] = set()
    monkeypatch.setattr(semantic, "_importable", lambda package: package in have)
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = "auto"
    assert semantic.model() is semantic.MINILM and not semantic.available()  # nothing installed
    have.update(semantic.MINILM.packages)
    assert semantic.model() is semantic.MINILM and semantic.available()
    have.update(semantic.E5_SMALL.packages)
    assert semantic.model() is semantic.E5_SMALL and semantic.available()
    # Each model places its cosine in the score its own way.
    assert (coverage_params().semantic_floor, coverage_params().semantic_weight) == (0.8, 0.4)
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.MINILM.key
    assert semantic.model() is semantic.MINILM
    assert (coverage_params().semantic_floor, coverage_params().semantic_weight) == (0.0, 0.5)
    # A vector computed by one model is stale for the other.
    minilm_digest = semantic.text_digest("Quake hits Sumatra")
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.E5_SMALL.key
    assert semantic.text_digest("Quake hits Sumatra") != minilm_digest


def test_the_multilingual_model_reads_the_original_in_any_language(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.E5_SMALL.key
    german = Article(
        title_orig="Erdbeben vor Sumatra",
        summary_orig="Ein starkes  Beben " + "x" * 400,
        title_en="",
        translation_status=TranslationStatus.PENDING,
    )
    text = semantic.article_semantic_text(german)
    assert text is not None and text.startswith("Erdbeben vor Sumatra. Ein starkes Beben x")
    assert len(text) == len("Erdbeben vor Sumatra. ") + semantic.E5_SMALL.lead_chars
    # Translated or not, it reads the same original text (no new vector when the translation lands).
    german.title_en, german.translation_status = "Earthquake off Sumatra", TranslationStatus.DONE
    assert semantic.article_semantic_text(german) == text
    assert semantic.article_semantic_text(Article(title_orig="", summary_orig="")) is None
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.MINILM.key
    assert semantic.article_semantic_text(german) == "Earthquake off Sumatra"


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


def test_a_headline_without_lead_reads_the_cosine_from_its_own_floor():
    """Headlines alone: the cosine counts from ``semantic_floor_headline``; articles with a lead keep the floor."""
    import numpy as np

    u, v = np.array([1.0, 0.0], dtype="float32"), np.array([0.15, (1 - 0.15**2) ** 0.5], dtype="float32")
    store = MemoryStore()
    heads = [text_features(title=QUAKE[i][0]) for i in (0, 1)]
    lead = "Rescue teams searched collapsed buildings overnight while hospitals treated injured residents and aftershocks rattled villages near the coast."
    leads = [text_features(title=QUAKE[i][0], body=QUAKE[i][1] + " " + lead) for i in (0, 1)]
    for f in heads + leads:
        store.df_add(list(f.terms))
    same = Params(semantic_weight=0.3, semantic_floor=0.2)
    headline = dataclasses.replace(same, semantic_floor_headline=0.0)

    def score(pair, params):
        return pair_similarity(a=pair[0], b=pair[1], store=store, params=params, embedding_a=u, embedding_b=v)

    assert max(len(f.terms) for f in heads) <= Params().headline_terms < min(len(f.terms) for f in leads)
    assert score(heads, headline) > score(heads, same)  # 0.15 is over the headline floor, under the other
    assert score(leads, headline) == score(leads, same)
    assert semantic.USE_V3.floor_headline is not None and semantic.USE_V3.floor_headline < semantic.USE_V3.floor


# -- with the backend ---------------------------------------------------------


@needs_minilm
def test_encoder_reproduces_the_models_published_similarities(minilm):
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


@needs_minilm
def test_batching_and_padding_do_not_change_an_embedding(minilm):
    texts = [IPHONE, "Short.", QUAKE[0][0] + " " + QUAKE[0][1] * 3]
    together = semantic.encoder().embed(texts, batch_size=3)
    for i, text in enumerate(texts):
        alone = semantic.encoder().embed([text])[0]
        assert float(alone @ together[i]) == pytest.approx(1.0, abs=1e-5)


@needs_minilm
def test_long_text_is_cut_at_256_tokens(minilm):
    long = " ".join(["Parliament debated the budget for many hours on Tuesday."] * 60)
    a, b = semantic.encoder().embed([long, long + " Then a completely different story about football began."])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-5)
    assert semantic.encoder().max_tokens == 256


@needs_minilm
def test_paraphrases_join_with_the_backend_and_not_without(minilm):
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


@pytest.mark.django_db(transaction=True)
def test_assignment_stores_embeddings_and_keeps_story_sums(settings, any_model):
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


@needs_minilm
@pytest.mark.django_db(transaction=True)
def test_untranslated_article_has_no_embedding_and_still_clusters(settings, minilm):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    german = pending_german("Erdbeben der Stärke 7,1 erschüttert Sumatra, Tsunami-Warnung")
    article_assign_story(article=german)
    assert not CoverageEmbedding.objects.filter(article_id=german.id).exists()
    assert Article.objects.get(id=german.id).story_id == first.id


@needs_minilm
@pytest.mark.django_db(transaction=True)
def test_translation_arriving_later_adds_the_embedding_and_keeps_the_sums(settings, minilm):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    quake = [article_assign_story(article=make_article(title=t, summary=s)) for t, s in QUAKE[:2]]
    article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    german = pending_german("Erdbeben der Stärke 7,1 vor Sumatra: Tsunami-Warnung für Indonesien")
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
    for story_id in CoverageStory.objects.values_list("story_id", flat=True):
        assert_story_sum_is_its_members(story_id)


@pytest.mark.django_db(transaction=True)
def test_recluster_reuses_stored_embeddings_and_rebuilds_the_same_story_sums(settings, any_model):
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


# -- the multilingual model ---------------------------------------------------

# One story told in English, German and Spanish, and other news in the same languages.
RATES = [
    "Central bank raises interest rates for the first time in a decade",
    "Notenbank erhöht erstmals seit zehn Jahren die Leitzinsen",
    "El banco central sube los tipos de interés por primera vez en una década",
]
OTHER_NEWS = [
    "Floods in Valencia kill dozens as rivers burst their banks",
    "Überschwemmungen in Valencia: Dutzende Tote",
    "Apple presenta un nuevo iPhone con una pantalla más grande",
]


def _one_story_and_other_news(*, dimensions: int) -> tuple[list[float], list[float]]:
    """The active encoder's unit vectors for RATES + OTHER_NEWS: the similarities within the
    story (three languages) and those from it to the other news. Batching must not change a vector."""
    vecs = semantic.encoder().embed(RATES + OTHER_NEWS)
    assert vecs.shape == (6, dimensions)
    assert [float(v @ v) for v in vecs] == pytest.approx([1.0] * 6, abs=1e-3)
    alone = semantic.encoder().embed([RATES[1]])[0]
    assert float(alone @ vecs[1]) == pytest.approx(1.0, abs=1e-3)
    sims = vecs @ vecs.T
    same = [sims[i, j] for i in range(3) for j in range(3) if i < j]
    across = [sims[i, j] for i in range(3) for j in range(3, 6)]
    return same, across


@needs_e5
def test_the_multilingual_model_places_one_story_in_three_languages_together(e5):
    same, across = _one_story_and_other_news(dimensions=384)
    assert min(same) > max(across) + 0.03
    # Unrelated news sits near the model's floor; the same story well above it.
    assert max(across) < semantic.E5_SMALL.floor < min(same)


@needs_use
def test_the_default_model_places_one_story_in_three_languages_together(use):
    same, across = _one_story_and_other_news(dimensions=512)
    assert min(same) > max(across) + 0.2
    # Unrelated news sits near the model's floor; the same story well above it.
    assert max(across) < semantic.USE_V3.floor + 0.1 and min(same) > 0.6


def test_a_multilingual_model_reads_only_the_languages_it_was_trained_on(use):
    """USE v3 knows 16 languages: an Indonesian article gets no vector (its words still count), a Spanish one does."""
    spanish = Article(title_orig="Terremoto en Sumatra", summary_orig="", language="es", translation_status="pending")
    indonesian = Article(title_orig="Gempa di Sumatra", summary_orig="", language="id", translation_status="pending")
    undetected = Article(title_orig="Gempa di Sumatra", summary_orig="", language="", translation_status="pending")
    assert semantic.article_semantic_text(spanish) == "Terremoto en Sumatra"
    assert semantic.article_semantic_text(indonesian) is None
    assert semantic.article_semantic_text(undetected) == "Gempa di Sumatra"
    assert semantic.MINILM.reads("en") and not semantic.MINILM.reads("es")
    assert semantic.E5_SMALL.reads("id")  # about 100 languages: no list kept


@needs_use
def test_auto_takes_the_default_multilingual_model_unless_an_optional_one_is_installed(settings, monkeypatch):
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = "auto"
    if not installed(semantic.E5_SMALL):
        assert semantic.model() is semantic.USE_V3 and semantic.semantic_enabled()
    have = set(semantic.USE_V3.packages) | set(semantic.MINILM.packages)
    monkeypatch.setattr(semantic, "_importable", lambda package: package in have)
    assert semantic.model() is semantic.USE_V3  # MiniLM, English only, comes after it
    have.update(semantic.E5_SMALL.packages)
    assert semantic.model() is semantic.E5_SMALL  # installed on purpose: preferred


@needs_e5
@pytest.mark.django_db(transaction=True)
def test_an_untranslated_article_is_embedded_from_its_original_and_joins(settings, e5):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    german = pending_german("Erdbeben der Stärke 7,1 erschüttert Sumatra, Tsunami-Warnung")
    assert article_assign_story(article=german).id == first.id
    vec = semantic.vector_from(CoverageEmbedding.objects.get(article_id=german.id).vector)
    fresh = semantic.encoder().embed([semantic.article_semantic_text(german)])[0]
    assert float(vec @ fresh) > 0.999
    assert_story_sum_is_its_members(first.id)


@pytest.mark.django_db
def test_a_rebuild_ignores_vectors_the_chosen_model_did_not_compute(settings, minilm):
    """After a switch of model, a stored vector of the other one takes no part in the story sums."""
    pytest.importorskip("numpy", reason="numpy comes with either semantic backend")
    from newsdesk.coverage.dbsemantic import embeddings_ensure

    pending = pending_german("Erdbeben vor Sumatra")
    # Left by the multilingual model, which read the German original; MiniLM reads nothing of it yet.
    CoverageEmbedding.objects.create(article=pending, digest="multilingual", vector=bytes(2 * semantic.DIM))
    assert semantic.article_semantic_text(pending) is None
    assert embeddings_ensure() == {}


@needs_use
@pytest.mark.django_db(transaction=True)
def test_the_candidate_read_brings_the_vectors_and_sums_the_separate_read_did(settings, use, monkeypatch):
    """PostgreSQL reads the candidates' vectors and their stories' sums with the candidates, no second read,
    and the assignment scores and joins exactly as with the separate read (elsewhere that read stays)."""
    from django.db import connection, transaction

    from newsdesk.coverage import dbsemantic, dbstore

    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    quake = [article_assign_story(article=make_article(title=t, summary=s)) for t, s in QUAKE[:2]]
    article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    spanish = make_article(title=QUAKE_ES[0], summary=QUAKE_ES[1], language="es", country="MX")
    separate_reads = []
    plain_read = dbsemantic._vectors_and_sums

    def counted(**kwargs):
        separate_reads.append(kwargs)
        return plain_read(**kwargs)

    monkeypatch.setattr(dbsemantic, "_vectors_and_sums", counted)

    def assigned() -> tuple[int, float | None, int]:
        with transaction.atomic():
            story = article_assign_story(article=Article.objects.get(id=spanish.id))
            row = Article.objects.get(id=spanish.id)
            summed = CoverageStory.objects.get(story_id=story.id).embedding
            transaction.set_rollback(True)
        return story.id, row.story_score, len(bytes(summed))

    folded = assigned()
    folded_reads = len(separate_reads)
    plain_candidates = dbstore.DbStore._candidates_pg

    def without_vectors(self, **kwargs):
        self.with_vectors = False
        return plain_candidates(self, **kwargs)

    monkeypatch.setattr(dbstore.DbStore, "_candidates_pg", without_vectors)
    separate = assigned()
    assert folded[0] == quake[0].id  # one event across languages: the vectors took part
    assert folded == separate
    if connection.vendor == "postgresql":
        assert folded_reads == 0 and len(separate_reads) == 1
    else:
        assert folded_reads == 1


def test_vectors_converted_together_are_those_converted_one_by_one():
    """The candidate read's vectors are converted in one go; every product with them must stay bit for bit."""
    import numpy as np

    rng = np.random.default_rng(7)
    stored = [semantic.vector_bytes(v) for v in rng.standard_normal((12, 512)).astype(np.float32)]
    query = rng.standard_normal(512).astype(np.float32)
    together, alone = semantic.vectors_from(stored), [semantic.vector_from(b) for b in stored]
    assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in together)
    assert [float(query @ a) for a in together] == [float(query @ b) for b in alone]
    assert [float(a @ a) for a in together] == [float(b @ b) for b in alone]
    sums = [semantic.vector_bytes(v, dtype="float32") for v in rng.standard_normal((3, 512))]
    assert [v.tolist() for v in semantic.vectors_from(sums, dtype="float32")] == [
        semantic.vector_from(b, dtype="float32").tolist() for b in sums
    ]
    # Vectors of two lengths (another model's left behind) are converted one by one, not refused.
    mixed = semantic.vectors_from([stored[0], semantic.vector_bytes(np.ones(384))])
    assert [len(v) for v in mixed] == [512, 384]
    assert semantic.vectors_from([]) == []
