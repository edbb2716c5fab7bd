"""Evaluate Similar Coverage on labelled corpora with the shipped defaults.

    manage.py eval_coverage ../shared/corpora/coverage/giveme5w1h.jsonl ...

The articles stream through the real assignment code in timestamp order, with
refinement passes as production runs them: beat's (every
``NEWSDESK_COVERAGE_REFINE_MINUTES`` of stream time over the last 48 hours; for
a file without times, every 100 articles over the last 20,000), and the pass
after a burst over the stories touched since the last pass (when the next
article comes ``NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS`` or more later, or
every ``NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES`` articles), newsdesk/coverage/burst.py. Before each file's result, the five events
with the worst precision and the five cut into the most stories (clustering
files) or Pearson per language pair (pair files). The last line per file is ``FILE: bcubed_f1=... precision=... recall=...`` or
``FILE: pearson=... auc=...``. The first line says which similarity ran
(``backend: lexical``, or with the semantic backend,
``NEWSDESK_COVERAGE_SEMANTIC``). Sentence vectors are kept by text digest in
``--vector-cache`` (``cache/coverage-vectors.npz`` under ``NEWSDESK_VAR_DIR``), so a
second run embeds only texts it has not seen. ``--halves`` adds each half of a
file alone (``FILE: half A: ...``, then that half's worst and split events,
``FILE: half A worst event ...``): events split by topic number or label
digest, pairs even and odd, so a change fitted on one half can be read on the
other, as the held-out sets read it.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsdesk.coverage.burst import burst_params
from newsdesk.coverage.cluster import coverage_params, refine_params
from newsdesk.coverage.evaluate import CorpusError, corpus_evaluate
from newsdesk.coverage.semantic import backend_name, encoder, semantic_enabled
from newsdesk.coverage.vectorcache import vectors_cached


class Command(BaseCommand):
    help = "Stream labelled corpora through the clustering and report B-cubed F1 or Pearson/AUC."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--vector-cache",
            type=Path,
            default=Path(settings.VAR_DIR) / "cache" / "coverage-vectors.npz",
            help="file of sentence vectors by text digest (default: cache/coverage-vectors.npz under NEWSDESK_VAR_DIR)",
        )
        parser.add_argument("--no-vector-cache", action="store_true", help="embed every text afresh")
        parser.add_argument(
            "--halves",
            action="store_true",
            help="also evaluate each half of a file alone (by gold event, or even/odd pairs): a held-out check",
        )

    def handle(
        self, *args, files: list[Path], vector_cache: Path, no_vector_cache: bool, halves: bool, **options
    ) -> None:
        params = coverage_params()
        refine = refine_params()
        embed = encoder().embed if semantic_enabled() else None
        if embed is not None and not no_vector_cache:
            embed = vectors_cached(embed, path=vector_cache)
        self.stdout.write(f"backend: {backend_name()}")
        failed = []
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            started = time.monotonic()
            try:
                result = corpus_evaluate(
                    path, params=params, embed=embed, refine=refine, burst=burst_params(), halves=halves
                )
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
