"""Rebuild Similar Coverage from the stored articles.

    manage.py recluster [--since 2026-01-01]

Articles are replayed oldest first (ties by id) through the same assignment
as the live pipeline, so the result depends only on the data and settings.
Without ``--since`` the index and every story are rebuilt from nothing; with
it, only articles published since then are detached and replayed, against
the index of what came before.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from newsdesk.coverage.recluster import articles_recluster


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since: not an ISO date: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Rebuild stories (Similar Coverage) deterministically, with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", type=_date, default=None, help="Only articles published since (ISO date).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")

    def handle(self, *args, since: datetime | None, no_progress: bool, **options) -> None:
        started = time.monotonic()
        bar = tqdm(total=0, unit="article", disable=no_progress, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        stats = articles_recluster(since=since, progress=progress)
        bar.close()
        elapsed = time.monotonic() - started
        rate = stats.articles / elapsed if elapsed else 0.0
        self.stdout.write(
            f"reclustered articles={stats.articles} stories={stats.stories} "
            f"seconds={elapsed:.1f} articles_per_s={rate:.0f}"
        )
