"""The stored documents' packed terms and names: exact, kept by every writer, and read like the JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction

from newsdesk.coverage.cluster import article_assign_story, article_features, coverage_params
from newsdesk.coverage.dbstore import DbStore
from newsdesk.coverage.docpack import centroid_pack, centroid_unpack, doc_pack, doc_unpack
from newsdesk.coverage.recluster import articles_recluster
from newsdesk.models import Article, CoverageDoc, CoverageStory
from tests.support.coverage import T0, make_article

QUAKE = [
    ("Earthquake of magnitude 7.1 strikes Sumatra, tsunami warning issued", "A 7.1 earthquake hit Sumatra on Monday."),
    ("Sumatra earthquake: magnitude 7.1 tremor triggers tsunami alert", "Indonesia issued a tsunami warning."),
    ("Tsunami warning after strong 7.1 quake off Sumatra, Indonesia", "The quake struck off Sumatra's west coast."),
    ("Strong quake off Sumatra: tsunami alert after magnitude 7.1 tremor", "Residents of Padang fled to high ground."),
]


def _jsonb_order(d: dict[str, float]) -> list[str]:
    return sorted(d, key=lambda k: (len(k.encode()), k.encode()))


def test_pack_round_trips_exactly_in_jsonb_key_order():
    terms = {"zeta": 0.1 + 0.2, "ab": 1 / 3, "b": 2.5e-300, "ümlaut": -0.0, "aa": 0.7}
    names = {"@p:MX": 0.0, "sumatr": 4.931825632724326, "@y:2008": 0.0, "": 1.0}
    got_terms, got_names = doc_unpack(doc_pack(terms, names))
    # The same floats, bit for bit, in the order jsonb gives its keys back (sums run in that order).
    assert list(got_terms) == _jsonb_order(terms) and list(got_names) == _jsonb_order(names)
    assert all(got_terms[k].hex() == terms[k].hex() for k in terms)
    assert all(got_names[k].hex() == names[k].hex() for k in names)
    assert doc_unpack(doc_pack({}, {})) == ({}, {})
    assert doc_unpack(doc_pack({"a": 1.0}, {})) == ({"a": 1.0}, {})
    assert list(centroid_unpack(centroid_pack(terms))) == _jsonb_order(terms)


def test_what_cannot_come_back_exactly_is_not_packed():
    assert doc_pack({"a": 1}, {}) is None  # an int would come back a float
    assert doc_pack({"a": 1.0}, {"x\x1fy": 0.0}) is None  # the key separator inside a key
    assert doc_pack({"a": True}, {}) is None


def test_a_damaged_or_unknown_value_is_refused():
    value = doc_pack({"a": 1.0, "b": 2.0}, {})
    with pytest.raises(ValueError):
        doc_unpack(b"\x02" + value[1:])
    with pytest.raises(ValueError):
        doc_unpack(value[:-2])  # a key lost


def _article(i: int, minutes: int = 0) -> Article:
    title, summary = QUAKE[i]
    return make_article(title=title, summary=summary, at=T0 + timedelta(minutes=minutes))


def _packed_matches_json() -> int:
    rows = list(CoverageDoc.objects.values_list("terms", "names", "packed"))
    for terms, names, packed in rows:
        assert packed is not None
        got_terms, got_names = doc_unpack(bytes(packed))
        assert got_terms == terms and got_names == names
        if connection.vendor == "postgresql":  # the JSON read back from jsonb, in its order
            assert list(got_terms) == list(terms) and list(got_names) == list(names)
    for centroid, packed in CoverageStory.objects.values_list("centroid", "centroid_packed"):
        assert packed is not None
        got = centroid_unpack(bytes(packed))
        assert got == centroid
        if connection.vendor == "postgresql":
            assert list(got) == list(centroid)
    return len(rows)


@pytest.mark.django_db(transaction=True)
def test_every_writer_stores_the_packed_vectors_with_the_json():
    articles = [_article(i, minutes=i) for i in range(3)]
    for article in articles:
        article_assign_story(article=article)
    assert _packed_matches_json() == 3
    # Re-assignment (the ORM path) rewrites the vectors: the packed value follows.
    moved = Article.objects.get(id=articles[1].id)
    Article.objects.filter(id=moved.id).update(title_orig="Federal Reserve raises interest rates", summary_orig="")
    moved.refresh_from_db()
    before = CoverageDoc.objects.get(article_id=moved.id).packed
    article_assign_story(article=moved)
    after = CoverageDoc.objects.get(article_id=moved.id)
    assert bytes(after.packed) != bytes(before) and "federa" in doc_unpack(bytes(after.packed))[0]
    assert _packed_matches_json() == 3
    # The rebuild writes them too (COPY on PostgreSQL, bulk_create elsewhere).
    articles_recluster()
    assert _packed_matches_json() == 3


def _candidate_docs(article: Article) -> tuple[dict[int, tuple[dict, dict]], dict[int, dict]]:
    params = coverage_params()
    features = article_features(article=article, grams=bool(params.weight_grams))
    with transaction.atomic():
        store = DbStore(article=article, params=params)
        store.df(list(features.terms))
        found = store.candidates(
            terms=list(features.terms),
            since=article.published_at.timestamp() - 3600,
            until=article.published_at.timestamp() + 3600,
            per_term=50,
        )
        docs = store.docs([c.key for c in found])
        centroids = store.centroids(sorted({d.story for d in docs}))
        return {d.key: (d.terms, d.names) for d in docs}, centroids


@pytest.mark.django_db(transaction=True)
def test_the_candidate_read_gives_the_same_documents_packed_or_from_json():
    for i in range(3):
        article_assign_story(article=_article(i, minutes=i))
    probe = _article(3, minutes=5)
    packed, packed_centroids = _candidate_docs(probe)
    assert len(packed) == 3 and len(packed_centroids) == 1
    # Rows without a packed value (written before the columns existed) are read from their JSON.
    CoverageDoc.objects.update(packed=None)
    CoverageStory.objects.update(centroid_packed=None)
    from_json, json_centroids = _candidate_docs(probe)
    assert from_json == packed and json_centroids == packed_centroids
    assert [(list(t), list(n)) for t, n in from_json.values()] == [(list(t), list(n)) for t, n in packed.values()]
    assert [list(c) for c in json_centroids.values()] == [list(c) for c in packed_centroids.values()]
    expected = {a: (t, n) for a, t, n in CoverageDoc.objects.values_list("article_id", "terms", "names")}
    assert packed == expected
    assert packed_centroids == dict(CoverageStory.objects.values_list("story_id", "centroid"))
    # And a new article still joins its story through them.
    article_assign_story(article=probe)
    assert Article.objects.values("story_id").distinct().count() == 1
    # The join packed the new document and the story's new centroid.
    doc = CoverageDoc.objects.get(article_id=probe.id)
    assert doc_unpack(bytes(doc.packed)) == (doc.terms, doc.names)
    ((centroid, centroid_packed),) = CoverageStory.objects.values_list("centroid", "centroid_packed")
    assert centroid_unpack(bytes(centroid_packed)) == centroid


@pytest.mark.django_db
def test_the_key_order_is_postgresqls_own_for_any_script():
    if connection.vendor != "postgresql":
        pytest.skip("jsonb's key order is PostgreSQL's")
    keys = ["é", "z", "ab", "ä", "日本", "zz", "ü", "a", "ñandú", "año", "€", "ß", "Z", "@p:MX", "1996"]
    vector = {k: float(i) / 7 for i, k in enumerate(keys)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [json.dumps(vector)])
        stored = json.loads(cursor.fetchone()[0])
    assert list(doc_unpack(doc_pack(vector, {}))[0]) == list(stored)
    assert list(doc_unpack(doc_pack({}, vector))[1]) == list(stored)


@pytest.mark.django_db(transaction=True)
def test_the_candidate_read_unpacks_the_same_bytes_once_and_new_bytes_again():
    if connection.vendor != "postgresql":
        pytest.skip("the packed read is PostgreSQL's")
    for i in range(3):
        article_assign_story(article=_article(i, minutes=i))
    probe = _article(3, minutes=5)
    first, first_centroids = _candidate_docs(probe)
    again, again_centroids = _candidate_docs(probe)
    # The same bytes read again: the values unpacked the first time, not a second unpack.
    assert len(first) == 3 and all(again[k][0] is first[k][0] and again[k][1] is first[k][1] for k in first)
    ((story, kept),) = first_centroids.items()
    assert again_centroids[story] is kept
    ((before,),) = CoverageStory.objects.values_list("centroid")
    # A join writes the story's new centroid: other bytes, read as the new centroid.
    article_assign_story(article=probe)
    _, after = _candidate_docs(_article(2, minutes=6))
    ((centroid,),) = CoverageStory.objects.values_list("centroid")
    assert after == {story: centroid} and after[story] is not kept and after[story] != kept
    # Nothing wrote into the values kept: each is still what its row's bytes unpack to.
    for key, (terms, names) in first.items():
        assert (terms, names) == doc_unpack(bytes(CoverageDoc.objects.get(article_id=key).packed))
    assert kept == before and list(kept) == list(before)
