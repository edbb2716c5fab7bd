"""Stored particulars of an older reading, read anew in bounded batches.

Each indexed document keeps its particulars (places, dates, figures and the
``w:`` / ``m:`` marks) among its names, as the version of
:mod:`newsdesk.coverage.particulars` that indexed it read them
(``CoverageDoc.particulars_version``). After an upgrade that reads texts
differently (``particulars.VERSION`` raised), the documents already stored
would keep the old reading until a ``recluster``; instead every refinement
beat (``tasks.refine_stories``) reads up to :data:`BATCH` of them anew, the
newest first, and ``manage.py refresh_particulars`` does all of them at once.

Only the particulars are replaced: the document's weighted terms and names
(which depend on the document frequencies of their day) and its story stay
as they are. A document rewritten meanwhile by a newer writer (an editor's
re-assignment, a translation arriving) already holds the current version
and is left alone (the update is guarded by the version it read).

Once a pass finds none left, a cache flag for this version spares the
following passes the query (a writer that does not say its version writes 0,
which only means one more reading).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from newsdesk.models import Article, CoverageDoc

from .cluster import article_features
from .dbboilerplate import articles_boilerplate
from .docpack import doc_pack
from .engine import PARTICULAR_PREFIX, names_split
from .particulars import VERSION

log = logging.getLogger(__name__)

BATCH = 500  # documents per beat: a few seconds of a worker's time at most
_DONE_KEY = "coverage:particulars:current:v{version}"
_DONE_SECONDS = 6 * 3600  # looked at again after this, in case an old writer left some


@dataclass(frozen=True, slots=True)
class RefreshStats:
    read: int  # stale documents read in this call
    changed: int  # of which the particulars differ from what was stored
    left: bool  # whether more stale documents may remain


def stale_count() -> int:
    """How many indexed documents hold particulars of an older reading."""
    return CoverageDoc.objects.filter(particulars_version__lt=VERSION).count()


def _names_with(names: dict, particulars: frozenset[str]) -> dict:
    out, _ = names_split(names)
    out.update((PARTICULAR_PREFIX + p, 0.0) for p in sorted(particulars))
    return out


def particulars_refresh(*, limit: int = BATCH, force: bool = False) -> RefreshStats:
    """Read anew the particulars of up to ``limit`` documents of an older version, the newest first.

    ``force`` looks even when this version's cache flag says none are left.
    """
    done_key = _DONE_KEY.format(version=VERSION)
    if not force and cache.get(done_key):
        return RefreshStats(read=0, changed=0, left=False)
    rows = list(
        CoverageDoc.objects.filter(particulars_version__lt=VERSION)
        .order_by("-at", "-article_id")
        .values_list("article_id", "particulars_version", "terms", "names")[:limit]
    )
    if not rows:
        cache.set(done_key, True, _DONE_SECONDS)
        return RefreshStats(read=0, changed=0, left=False)
    articles = Article.objects.in_bulk([r[0] for r in rows])
    boilerplate = articles_boilerplate(list(articles.values()), record=False)
    changed = 0
    with transaction.atomic():
        for article_id, version, terms, names in rows:
            article = articles.get(article_id)
            if article is None:  # deleted since the read: its document went with it
                continue
            features = article_features(article=article, grams=False, boilerplate=boilerplate[article_id])
            fresh = _names_with(names, features.particulars)
            differs = fresh != names
            updated = CoverageDoc.objects.filter(article_id=article_id, particulars_version=version).update(
                names=fresh, packed=doc_pack(terms, fresh), particulars_version=VERSION
            )
            changed += bool(updated and differs)
    left = len(rows) == limit
    if not left:
        cache.set(done_key, True, _DONE_SECONDS)
    log.info("event=particulars_refresh version=%s read=%s changed=%s left=%s", VERSION, len(rows), changed, left)
    return RefreshStats(read=len(rows), changed=changed, left=left)
