"""Stored particulars of an older reading (newsdesk/coverage/dbupgrade.py): every writer says its
version; the older ones are read anew in bounded batches, by beat's refinement and by
``manage.py refresh_particulars``, without touching what a newer writer stored meanwhile."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from newsdesk.coverage import dbupgrade
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.docpack import doc_pack
from newsdesk.coverage.particulars import VERSION
from newsdesk.models import CoverageDoc
from tests.support.coverage import T0, make_article

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = [
    ("Dock workers strike in Rotterdam on May 5", "The port of Rotterdam stood still on 5 May 2026."),
    ("Rotterdam port strike enters second day", "Dock workers in the Netherlands kept the port closed on May 6."),
    ("Wildfire near Athens forces evacuations", "Greek firefighters fought a blaze north of Athens in August 2025."),
]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _indexed() -> list[int]:
    ids = []
    for i, (title, summary) in enumerate(TEXTS):
        article = make_article(title=title, summary=summary, at=T0 + timedelta(hours=i))
        article_assign_story(article=article)
        ids.append(article.id)
    return ids


def _stored() -> dict[int, tuple[dict, int]]:
    return {a: (n, v) for a, n, v in CoverageDoc.objects.values_list("article_id", "names", "particulars_version")}


def _as_before_versions(ids: list[int]) -> None:
    """What a desk indexed before month marks and versions: no ``@m:`` keys, version 0."""
    for doc in CoverageDoc.objects.filter(article_id__in=ids):
        old = {k: w for k, w in doc.names.items() if not k.startswith("@m:")}
        CoverageDoc.objects.filter(article_id=doc.article_id).update(
            names=old, packed=doc_pack(doc.terms, old), particulars_version=0
        )


def test_every_writer_stores_the_current_version():
    ids = _indexed()
    stored = _stored()
    assert {v for _, v in stored.values()} == {VERSION}
    # the month marks are what this upgrade is about: the fixtures must carry some
    assert any(k.startswith("@m:") for n, _ in stored.values() for k in n)
    call_command("recluster", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert {v for _, v in _stored().values()} == {VERSION}
    assert set(_stored()) == set(ids)


def test_older_documents_are_read_anew_in_bounded_batches_newest_first():
    ids = _indexed()
    fresh = _stored()
    _as_before_versions(ids)
    assert dbupgrade.stale_count() == 3
    assert not any(k.startswith("@m:") for n, _ in _stored().values() for k in n)

    first = dbupgrade.particulars_refresh(limit=2)
    assert (first.read, first.left) == (2, True)
    stored = _stored()
    assert [stored[a][1] for a in ids] == [0, VERSION, VERSION]  # the two newest
    assert first.changed == sum(1 for a in ids[1:] if any(k.startswith("@m:") for k in fresh[a][0]))

    second = dbupgrade.particulars_refresh(limit=2)
    assert (second.read, second.left) == (1, False)
    assert _stored() == fresh  # exactly what indexing wrote: names, particulars and version
    for doc in CoverageDoc.objects.all():
        assert bytes(doc.packed) == doc_pack(doc.terms, doc.names)
    assert dbupgrade.stale_count() == 0


def test_a_pass_that_found_none_left_spares_the_next_passes_the_query(django_assert_num_queries):
    _indexed()
    assert dbupgrade.particulars_refresh().read == 0
    with django_assert_num_queries(0):
        assert dbupgrade.particulars_refresh().read == 0
    with django_assert_num_queries(1):
        assert dbupgrade.particulars_refresh(force=True).read == 0


def test_a_document_rewritten_meanwhile_is_left_as_its_writer_stored_it(monkeypatch):
    ids = _indexed()
    _as_before_versions(ids)
    newest = ids[-1]
    real = dbupgrade.article_features

    def features_while_a_writer_rewrites(*, article, **kwargs):
        if article.id == newest:  # a re-assignment stores the document anew between read and write
            CoverageDoc.objects.filter(article_id=newest).update(names={"writer": 1.0}, particulars_version=VERSION)
        return real(article=article, **kwargs)

    monkeypatch.setattr(dbupgrade, "article_features", features_while_a_writer_rewrites)
    stats = dbupgrade.particulars_refresh(limit=10)
    assert stats.read == 3
    assert _stored()[newest] == ({"writer": 1.0}, VERSION)
    assert {v for _, v in _stored().values()} == {VERSION}


def test_the_command_reads_all_of_them_and_check_counts_them():
    ids = _indexed()
    fresh = _stored()
    _as_before_versions(ids)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("refresh_particulars", "--check", stdout=out)
    assert exit_.value.code == 1
    assert f"version={VERSION} stale=3" in out.getvalue()
    out = StringIO()
    call_command("refresh_particulars", "--batch", "1", stdout=out)
    assert "read=3" in out.getvalue()
    assert _stored() == fresh
    out = StringIO()
    call_command("refresh_particulars", "--check", stdout=out)
    assert "stale=0" in out.getvalue()


def test_beats_refinement_reads_a_batch(monkeypatch, settings):
    from newsdesk import tasks

    ids = _indexed()
    fresh = _stored()
    _as_before_versions(ids)
    monkeypatch.setattr(dbupgrade, "BATCH", 2)
    monkeypatch.setattr(dbupgrade.particulars_refresh, "__kwdefaults__", {"limit": 2, "force": False})
    settings.NEWSDESK_COVERAGE_REFINE_MINUTES = 0  # refinement off: the upgrade still runs
    tasks.refine_stories()
    assert dbupgrade.stale_count() == 1
    tasks.refine_stories()
    assert _stored() == fresh
