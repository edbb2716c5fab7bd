"""Poll feed sources in the foreground: ``manage.py poll [--source ID ...] [--all]``.

Without options it polls the sources that are due, as the dispatcher would.
Uses the same claim as the workers, so a source a worker is polling right
now is skipped rather than polled twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from newsdesk.ingest.poll import PollResult, sources_poll
from newsdesk.models import Source, SourceKind
from newsdesk.tasks import enrich_enqueue


class Command(BaseCommand):
    help = "Poll feed sources now, in this process, with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", type=int, action="append", dest="sources", metavar="ID", help="repeatable")
        parser.add_argument("--all", action="store_true", help="every enabled feed source, due or not")

    def handle(self, *args, sources: list[int] | None = None, all: bool = False, verbosity: int = 1, **options) -> None:
        feeds = Source.objects.filter(kind=SourceKind.FEED)
        if sources:
            missing = set(sources) - set(feeds.filter(id__in=sources).values_list("id", flat=True))
            if missing:
                raise CommandError(f"no feed source with id {', '.join(map(str, sorted(missing)))}")
            ids, force = sources, True
        elif all:
            ids, force = list(feeds.filter(enabled=True).values_list("id", flat=True)), True
        else:
            due = feeds.filter(enabled=True, next_poll_at__lte=timezone.now())
            ids, force = list(due.values_list("id", flat=True)), False
        totals: dict[str, int] = {}
        new = 0
        with tqdm(total=len(ids), desc="poll", unit="source", disable=verbosity < 1) as bar:

            def done(result: PollResult) -> None:
                nonlocal new
                totals[result.outcome] = totals.get(result.outcome, 0) + 1
                if result.attempt is not None:
                    new += result.attempt.items_new
                    if result.attempt.error and verbosity >= 1:
                        bar.write(f"source {result.source_id}: {result.attempt.error}")
                bar.update(1)

            chunk = 50
            for start in range(0, len(ids), chunk):
                results = sources_poll(source_ids=ids[start : start + chunk], force=force, on_result=done)
                for result in results:
                    if result.attempt is None:
                        done(result)
                # New articles still need language and translation: hand them to the workers.
                enrich_enqueue(by_source={result.source_id: result.to_enrich for result in results})
        summary = " ".join(f"{k.replace(' ', '_')}={v}" for k, v in sorted(totals.items()))
        self.stdout.write(f"polled={len(ids)} new_items={new} {summary}".strip())
