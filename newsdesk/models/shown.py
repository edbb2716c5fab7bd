"""Rows the feeds show: every write to them moves the feed version.

Feeds answer repeats with a 304 from a validator memoized under one global
version (``newsdesk/changes.py``), so a write that changes what a feed shows
and does not move the version serves a stale feed. ``Article`` and ``Story``
use ``FeedShownQuerySet``: model saves and deletes bump through signals
(``changes.signals_connect``), and the bulk writes that send no signal
(``update`` and so ``bulk_update``, ``bulk_create``, ``delete``) bump here.
``Source`` rows bump only for the columns feeds show (``SourceQuerySet``). Raw SQL
writes (coverage's one-statement paths, recluster) bump themselves; the
modules allowed to write these tables with SQL are listed in
tests/test_feed_version_contract.py, which runs every write path.
"""

from __future__ import annotations

from django.db import models

from newsdesk import changes
from newsdesk.changes import articles_changed


class FeedShownQuerySet(models.QuerySet):
    def shows(self, fields) -> bool:
        """Whether writing ``fields`` can change what a feed shows."""
        return True

    # bulk_update writes through update(), so it bumps too.
    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows and self.shows(kwargs):
            articles_changed(using=self.db)
        return rows

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            articles_changed(using=self.db)
        return created

    bulk_create.alters_data = True

    def delete(self):
        deleted = super().delete()
        if deleted[0]:
            articles_changed(using=self.db)
        return deleted

    delete.alters_data = True
    delete.queryset_only = True


class SourceQuerySet(FeedShownQuerySet):
    """Outlets: only a write to a column feeds show (its name) moves the version.

    Poll scheduling and health writes, many per second, leave the feeds' memos
    alone; a new outlet has no articles yet, and a deleted one's articles bump
    as they go.
    """

    def shows(self, fields) -> bool:
        return not changes.SOURCE_FEED_FIELDS.isdisjoint(fields)

    def bulk_create(self, objs, *args, **kwargs):
        return models.QuerySet.bulk_create(self, objs, *args, **kwargs)

    bulk_create.alters_data = True
