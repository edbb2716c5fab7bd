"""Evaluate Similar Coverage on labelled corpora with the shipped defaults.

    manage.py eval_coverage ../shared/corpora/coverage/giveme5w1h.jsonl ...

The articles stream through the real assignment code in timestamp order; the
last line per file is ``FILE: bcubed_f1=... precision=... recall=...`` or
``FILE: pearson=... auc=...``. The first line says which similarity ran
(``backend: lexical``, or with the optional semantic backend,
``NEWSDESK_COVERAGE_SEMANTIC``).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsdesk.coverage.cluster import coverage_params
from newsdesk.coverage.evaluate import CorpusError, corpus_evaluate
from newsdesk.coverage.semantic import backend_name, encoder, semantic_enabled


class Command(BaseCommand):
    help = "Stream labelled corpora through the clustering and report B-cubed F1 or Pearson/AUC."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files: list[Path], **options) -> None:
        params = coverage_params()
        embed = encoder().embed if semantic_enabled() else None
        self.stdout.write(f"backend: {backend_name()}")
        failed = []
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            started = time.monotonic()
            try:
                line = corpus_evaluate(path, params=params, embed=embed)
            except (CorpusError, UnicodeDecodeError) as exc:
                self.stderr.write(f"{path}: {exc}")
                failed.append(path)
                continue
            self.stderr.write(f"{path.name}: {time.monotonic() - started:.1f}s")
            self.stdout.write(f"{path.name}: {line}")
        if failed:
            raise CommandError(f"could not read {len(failed)} file(s)")
