"""Export feed sources as OPML: ``manage.py export_opml [-o FILE]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from newsdesk.ingest.opml import opml_export
from newsdesk.models import Source, SourceKind


class Command(BaseCommand):
    help = "Write every feed source as OPML 2.0 (to standard output, or to --output)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("-o", "--output", type=Path, help="file to write instead of standard output")

    def handle(self, *args, output: Path | None = None, **options) -> None:
        data = opml_export(sources=Source.objects.filter(kind=SourceKind.FEED).order_by("category", "name"))
        if output is None:
            self.stdout.write(data.decode("utf-8"), ending="\n")
        else:
            output.write_bytes(data)
