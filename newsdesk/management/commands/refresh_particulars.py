"""Read anew the particulars of indexed articles stored by an older version.

    manage.py refresh_particulars [--batch 2000] [--check]

An upgrade that reads texts' places, dates and figures differently raises
``newsdesk.coverage.particulars.VERSION``; documents indexed before keep the
old reading until read anew. Beat's refinement pass does that a bounded batch
at a time (newsdesk/coverage/dbupgrade.py); this command does all of them
now, newest first, in batches of ``--batch`` (each its own transaction), safe
while workers enrich. Stories are not rebuilt (``recluster`` does that).
``--check`` only counts them, and exits 1 when some are left.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand

from newsdesk.coverage.dbupgrade import particulars_refresh, stale_count
from newsdesk.coverage.particulars import VERSION


class Command(BaseCommand):
    help = "Read anew the stored particulars of an older version (all of them, in batches)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=2000, help="Documents per transaction (default 2000).")
        parser.add_argument("--check", action="store_true", help="Only count them; exit 1 when some are left.")

    def handle(self, *args, batch: int, check: bool, **options) -> None:
        stale = stale_count()
        if check:
            self.stdout.write(f"particulars version={VERSION} stale={stale}")
            if stale:
                sys.exit(1)
            return
        started = time.monotonic()
        read = changed = 0
        while True:
            stats = particulars_refresh(limit=max(1, batch), force=True)
            read += stats.read
            changed += stats.changed
            if not stats.left:
                break
        self.stdout.write(
            f"refreshed particulars version={VERSION} read={read} changed={changed} "
            f"seconds={time.monotonic() - started:.1f}"
        )
