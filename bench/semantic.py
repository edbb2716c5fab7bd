"""What the shipped semantic backend costs per article: CPU, memory, disk.

Usage:
    python bench/semantic.py [--articles 200] [--model auto|multilingual-use-v3|multilingual-e5-small|all-minilm-l6-v2]

Embeds what production embeds (each article's title and the start of its
lead, as :func:`newsdesk.coverage.semantic.embed_text` cuts it, in the
article's own language) one article at a time, as enrichment runs it when a
batch holds one article, and in batches of 20 (``NEWSDESK_ENRICH_BATCH_SIZE``).
Then the check of every lead against its headline
(:func:`newsdesk.coverage.semantic.lead_unrelated`: a word test on each, the
headline and the lead embedded alone for the few it flags), headlines cut from
untitled texts as ``eval_coverage`` cuts them; the per-article figure the
target is read against is the embedding plus the check.
Texts are the first articles of ../shared/corpora/coverage/semeval2022_pairs.jsonl
(news in ten languages), or generated headlines when the corpus is absent.
CPU time is this process's (all threads), so a loaded machine inflates wall
time but not much the CPU figure.

The last line prints the figures beside the target (about 25 ms of CPU per
article); the exit status is non-zero when it is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora" / "coverage"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

from bench._services import rss_mb  # noqa: E402

TARGET_MS = 25.0


def texts(count: int) -> list[tuple[str, str]]:
    """(title, lead) pairs of real news in several languages, or generated ones."""
    path = SHARED / "semeval2022_pairs.jsonl"
    out: list[tuple[str, str]] = []
    if path.is_file():
        with path.open(encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                for side in ("1", "2"):
                    title, body = row.get(f"title{side}") or "", row.get(f"text{side}") or ""
                    if title or body:
                        out.append((title, body))
                if len(out) >= count:
                    return out[:count]
    while len(out) < count:
        n = len(out)
        out.append((f"Earthquake of magnitude {n % 9}.{n % 7} strikes region {n}", "Officials said on Monday " * 20))
    return out


def package_mb(model) -> float:
    import importlib.util

    total = 0
    for name in model.packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            total += sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return total / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from newsdesk.coverage import semantic

    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = args.model
    if not semantic.semantic_enabled():
        print(f"no semantic backend installed for {args.model}: {semantic.model().install_hint}")
        return 1
    chosen = semantic.model()
    docs = [semantic.embed_text(title=t, lead=b, chars=chosen.lead_chars) for t, b in texts(args.articles)]
    before = rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    encoder = semantic.encoder()
    encoder.embed(["warm up"])
    load_cpu, load_wall = time.process_time() - cpu, time.perf_counter() - wall
    loaded = rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    for doc in docs:
        encoder.embed([doc])
    one_cpu = (time.process_time() - cpu) * 1000 / len(docs)
    one_wall = (time.perf_counter() - wall) * 1000 / len(docs)
    cpu = time.process_time()
    for start in range(0, len(docs), 20):
        encoder.embed(docs[start : start + 20])
    batch_cpu = (time.process_time() - cpu) * 1000 / len(docs)
    from newsdesk.coverage.evaluate import title_split

    split = [title_split(title=t, text=b) for t, b in texts(args.articles)]
    cpu = time.process_time()
    flagged = sum(semantic.lead_unrelated(title=t, lead=b) for t, b in split)
    check_cpu = (time.process_time() - cpu) * 1000 / len(split)
    chars = sum(map(len, docs)) / len(docs)
    print(f"model: {chosen.name} ({chosen.key}), threads={settings.NEWSDESK_COVERAGE_SEMANTIC_THREADS}")
    print(f"texts: {len(docs)} articles, title + {chosen.lead_chars}-character lead, {chars:.0f} characters on average")
    print(
        f"load: {load_cpu:.2f} s CPU ({load_wall:.2f} s wall); memory +{loaded - before:.0f} MB (RSS {loaded:.0f} MB)"
    )
    print(f"disk: {package_mb(chosen):.0f} MB of installed package")
    print(
        f"one at a time: {one_cpu:.1f} ms CPU, {one_wall:.1f} ms wall per article; batches of 20: {batch_cpu:.1f} ms CPU"
    )
    print(f"lead check: {check_cpu:.2f} ms CPU per article ({flagged} of {len(split)} leads not about their headline)")
    total = one_cpu + check_cpu
    ok = total <= TARGET_MS
    print(f"RESULT cpu_ms_per_article={total:.1f} (target <= {TARGET_MS:.0f}) {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
