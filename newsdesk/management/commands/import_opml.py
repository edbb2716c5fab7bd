"""Import feed sources from an OPML file: ``manage.py import_opml FILE``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from newsdesk.ingest.opml import OpmlRejected, opml_import, opml_parse


class Command(BaseCommand):
    help = "Import feed sources from an OPML file; reports duplicates and invalid entries."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, verbosity: int = 1, **options) -> None:
        try:
            document = opml_parse(data=file.read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        except OpmlRejected as exc:
            raise CommandError(f"{file}: {exc}") from exc
        with tqdm(total=len(document.entries), desc="import", unit="feed", disable=verbosity < 1) as bar:
            report = opml_import(document=document, on_progress=lambda done, total: bar.update(1))
        for entry in report.duplicates:
            self.stdout.write(f"duplicate (line {entry.line}): {entry.url}")
        for invalid in report.invalid:
            self.stdout.write(
                f"invalid (line {invalid.line}): {invalid.reason}" + (f" [{invalid.text}]" if invalid.text else "")
            )
        self.stdout.write(report.summary())
