"""Evaluate Similar Coverage on labelled corpora with the shipped defaults.

    manage.py eval_coverage ../shared/corpora/coverage/giveme5w1h.jsonl ...

The articles stream through the real assignment code in timestamp order, with
refinement passes as beat runs them (every ``NEWSDESK_COVERAGE_REFINE_MINUTES``
of stream time over the last 48 hours; for a file without times, every 100
articles over the last 20,000). Before each file's result, the five events
with the worst precision (clustering files) or Pearson per language pair
(pair files). The last line per file is ``FILE: bcubed_f1=... precision=... recall=...`` or
``FILE: pearson=... auc=...``. The first line says which similarity ran
(``backend: lexical``, or with the optional semantic backend,
``NEWSDESK_COVERAGE_SEMANTIC``).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsdesk.coverage.cluster import coverage_params, refine_params
from newsdesk.coverage.evaluate import CorpusError, corpus_evaluate
from newsdesk.coverage.semantic import backend_name, encoder, semantic_enabled


class Command(BaseCommand):
    help = "Stream labelled corpora through the clustering and report B-cubed F1 or Pearson/AUC."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files: list[Path], **options) -> None:
        params = coverage_params()
        refine = refine_params()
        embed = encoder().embed if semantic_enabled() else None
        self.stdout.write(f"backend: {backend_name()}")
        failed = []
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            started = time.monotonic()
            try:
                result = corpus_evaluate(path, params=params, embed=embed, refine=refine)
            except (CorpusError, UnicodeDecodeError) as exc:
                self.stderr.write(f"{path}: {exc}")
                failed.append(path)
                continue
            self.stderr.write(f"{path.name}: {time.monotonic() - started:.1f}s")
            for detail in result.details:
                self.stdout.write(f"{path.name}: {detail}")
            self.stdout.write(f"{path.name}: {result.line}")
        if failed:
            raise CommandError(f"could not read {len(failed)} file(s)")
