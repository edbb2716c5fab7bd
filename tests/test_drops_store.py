"""newsdesk/drops/store.py: file bytes -> articles, attempts and the DropFile ledger, without an inbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.drops.store import DropInput, OutletCache, drop_bytes_ingest, drop_inputs_ingest, outlet_source
from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind

pytestmark = pytest.mark.django_db

MTIME = datetime(2026, 3, 1, tzinfo=UTC)
CARD = "Feb 9 • 11:00 UTC 🇧🇷 Brazil Folha (PT)\n\nManchete\n\nCorpo do texto.\n".encode()


@pytest.fixture
def drop():
    return Source.objects.create(name="Backfill", kind=SourceKind.DROP, inbox="backfill")


def test_one_batch_mixes_new_duplicate_and_failed_files(drop):
    items = [
        DropInput(name="a.txt", data=CARD, mtime=MTIME),
        DropInput(name="b.json", data=b'{"summary": "untitled"}', mtime=MTIME),
        DropInput(name="c.txt", data=CARD, mtime=MTIME),
        DropInput(name="d.txt", data=b"Note\nbody", mtime=MTIME),
    ]
    results = drop_inputs_ingest(source=drop, items=items)
    assert [r.status for r in results] == ["ok", "failed", "duplicate", "ok"]
    assert results[1].error == "missing title (line 1, field 'title')"
    assert len(results[0].to_enrich) == 1 and len(results[3].to_enrich) == 1
    assert Article.objects.count() == 2
    assert DropFile.objects.count() == 2
    outcomes = list(FetchAttempt.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["ok", "error", "duplicate", "ok"]
    assert all(a.source_id == drop.id for a in FetchAttempt.objects.all())


def test_card_outlet_is_created_under_the_drop_with_country_and_language(drop):
    result = drop_bytes_ingest(source=drop, name="a.txt", data=CARD, mtime=MTIME)
    article = Article.objects.get(id=result.to_enrich[0])
    outlet = article.source
    assert (outlet.name, outlet.parent_id, outlet.country, outlet.language, outlet.url) == (
        "Folha",
        drop.id,
        "BR",
        "pt",
        "",
    )
    assert (article.country, article.language_declared) == ("BR", "pt")


def test_outlet_lookup_prefers_the_inboxs_own_outlet_then_a_real_feed(drop):
    feed = Source.objects.create(name="Wire", url="https://example.org/wire.xml")
    assert outlet_source(drop=drop, name="wire") == feed
    own = Source.objects.create(name="Wire", parent=drop)
    assert outlet_source(drop=drop, name="WIRE") == own


def test_outlet_cache_maps_the_drops_own_name_to_the_drop(drop):
    assert OutletCache(drop).get(name="backfill", country="", language="") == drop
    assert OutletCache(drop).get(name="", country="", language="") == drop
