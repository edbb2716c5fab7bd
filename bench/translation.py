"""Translation cost and overhead: 1,000 articles in 6 languages, 30% wire copies.

Usage:
    python bench/translation.py [--quick] [--articles N]

Runs the real pipeline stage (``article_translate`` + save) for every article
against the loopback Google-protocol provider (tests/support/translator.py),
with deep-translator called for real, on a private SQLite database and a
private Redis (or DATABASE_URL / REDIS_URL when set). 1% of the articles carry
a summary longer than Google's 5,000-character limit, so chunking is
exercised too.

Reports provider calls (counted by the server), characters sent, and the
time per article spent outside the provider (wall time minus the time inside
deep-translator's ``translate``: our cache lookups, single-flight locks,
breaker, rate limit, budget, thread hand-off and the article save).

Targets: provider calls == unique chunks (every unique text translated once,
each chunk once); overhead <= 2 ms per article. The last line prints the
figures beside the targets; the exit status is non-zero on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._services import private_services  # noqa: E402

TARGET_OVERHEAD_MS = 2.0

WORDS = {
    "es": [
        "gobierno",
        "ministro",
        "economía",
        "mercado",
        "presidente",
        "acuerdo",
        "crisis",
        "elecciones",
        "empresa",
        "trabajo",
        "precio",
        "ciudad",
        "país",
        "guerra",
        "salud",
        "banco",
        "inflación",
        "energía",
        "agua",
        "campo",
        "futuro",
        "reforma",
        "justicia",
    ],
    "fr": [
        "gouvernement",
        "ministre",
        "économie",
        "marché",
        "président",
        "accord",
        "crise",
        "élections",
        "entreprise",
        "travail",
        "prix",
        "ville",
        "pays",
        "guerre",
        "santé",
        "banque",
        "inflation",
        "énergie",
        "eau",
        "campagne",
        "avenir",
        "réforme",
        "justice",
    ],
    "de": [
        "Regierung",
        "Minister",
        "Wirtschaft",
        "Markt",
        "Präsident",
        "Abkommen",
        "Krise",
        "Wahlen",
        "Unternehmen",
        "Arbeit",
        "Preis",
        "Stadt",
        "Land",
        "Krieg",
        "Gesundheit",
        "Bank",
        "Inflation",
        "Energie",
        "Wasser",
        "Zukunft",
        "Reform",
        "Justiz",
    ],
    "it": [
        "governo",
        "ministro",
        "economia",
        "mercato",
        "presidente",
        "accordo",
        "crisi",
        "elezioni",
        "impresa",
        "lavoro",
        "prezzo",
        "città",
        "paese",
        "guerra",
        "salute",
        "banca",
        "inflazione",
        "energia",
        "acqua",
        "futuro",
        "riforma",
        "giustizia",
    ],
    "pt": [
        "governo",
        "ministro",
        "economia",
        "mercado",
        "presidente",
        "acordo",
        "crise",
        "eleições",
        "empresa",
        "trabalho",
        "preço",
        "cidade",
        "país",
        "guerra",
        "saúde",
        "banco",
        "inflação",
        "energia",
        "água",
        "futuro",
        "reforma",
        "justiça",
    ],
    "nl": [
        "regering",
        "minister",
        "economie",
        "markt",
        "president",
        "akkoord",
        "crisis",
        "verkiezingen",
        "bedrijf",
        "werk",
        "prijs",
        "stad",
        "land",
        "oorlog",
        "gezondheid",
        "bank",
        "inflatie",
        "energie",
        "water",
        "toekomst",
        "hervorming",
        "justitie",
    ],
}


def sentence(rng: random.Random, lang: str, words: int) -> str:
    text = " ".join(rng.choice(WORDS[lang]) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def make_texts(n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """(language, title, summary) for n articles; 30% repeat an earlier one (wire copy)."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    langs = list(WORDS)
    for i in range(n):
        if out and rng.random() < 0.30:
            out.append(rng.choice(out))
            continue
        lang = langs[i % len(langs)]
        title = f"{sentence(rng, lang, 8)[:-1]} {i}"
        if rng.random() < 0.01:
            summary = " ".join(sentence(rng, lang, 12) for _ in range(60))  # ~6,000 characters
        else:
            summary = " ".join(sentence(rng, lang, 12) for _ in range(2))
        out.append((lang, title, summary))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 articles (well under a minute)")
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument(
        "--profile", metavar="N", type=int, default=0, help="print the N top functions of a cProfile of the timed loop"
    )
    args = parser.parse_args()
    count = args.articles or (300 if args.quick else 1000)

    with private_services("bench-translation-"):
        return run(count, profile=args.profile)


def run(count: int, *, profile: int = 0) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from newsdesk.enrich.chunking import text_chunks
    from newsdesk.enrich.pipeline import article_translate
    from newsdesk.enrich.providers import REGISTRY, STATS
    from newsdesk.enrich.redisstate import redis_state_clear
    from newsdesk.models import Article, ProviderUsage, Source, Translation, TranslationStatus

    call_command("migrate", verbosity=0)
    # A DATABASE_URL may name a reused scratch database: start from the same
    # empty state every run (articles and cached translations of an earlier
    # run would be counted again, or answered without the provider). A
    # database holding anything but this bench's own sources is refused.
    if Source.objects.exclude(name__startswith="bench ").exists():
        print("bench/translation.py: DATABASE_URL holds other sources; give it a scratch database", file=sys.stderr)
        return 2
    Source.objects.all().delete()
    Translation.objects.all().delete()
    ProviderUsage.objects.all().delete()
    redis_state_clear()
    texts = make_texts(count)
    unique_texts = {(lang, t) for lang, title, summary in texts for t in (title, summary)}
    google = REGISTRY["google"]
    unique_chunks = {(lang, c.text) for lang, t in unique_texts for c in text_chunks(text=t, limit=google.max_chars)}

    sources = {lang: Source.objects.create(name=f"bench {lang}", language=lang, enabled=False) for lang in WORDS}
    Article.objects.bulk_create(
        Article(
            source=sources[lang],
            dedupe_key=f"bench-{i}",
            title_orig=title,
            summary_orig=summary,
            language_declared=lang,
            language=lang,
            translation_status=TranslationStatus.PENDING,
        )
        for i, (lang, title, summary) in enumerate(texts)
    )
    articles = list(Article.objects.order_by("id"))

    # The provider runs in its own process, as a remote one would: sharing our
    # GIL would bill its parsing and thread switches to our overhead.
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.translator"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = server.stdout.readline().strip()
    try:
        settings.NEWSDESK_TRANSLATORS = ["google"]
        settings.NEWSDESK_GOOGLE_TRANSLATE_URL = base + "/m"
        # The limiter still runs (one Redis script per call) but never makes us wait.
        settings.NEWSDESK_TRANSLATION_RATES = "google=1000"
        STATS.reset()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu_started = time.perf_counter(), time.process_time()
        for article in articles:
            article_translate(article=article)
            article.save(
                update_fields=[
                    "title_en",
                    "summary_en",
                    "translation_status",
                    "translation_provider",
                    "translation_error",
                    "translation_attempts",
                ]
            )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(profile)
        stats = json.loads(urllib.request.urlopen(base + "/_stats", timeout=10).read())
        calls, chars_sent = stats["calls"], stats["characters"]
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    done = Article.objects.filter(translation_status=TranslationStatus.DONE).count()
    wrong = sum(1 for a in Article.objects.only("title_orig", "title_en") if a.title_en != f"EN: {a.title_orig}")
    usage = ProviderUsage.objects.get(provider="google")
    overhead_ms = (wall - STATS.provider_seconds) * 1000 / count
    overhead_cpu_ms = (cpu - STATS.provider_cpu_seconds) * 1000 / count
    chars_total = sum(len(title) + len(summary) for _lang, title, summary in texts)
    print(f"articles={count} languages={len(WORDS)} translated={done} wrong_titles={wrong}")
    print(f"texts={2 * count} unique_texts={len(unique_texts)} unique_chunks={len(unique_chunks)}")
    print(f"provider_calls={calls} characters_sent={chars_sent} (of {chars_total} in all articles)")
    print(f"budget_usage: calls={usage.calls} characters={usage.characters}")
    print(
        f"wall={wall:.2f}s inside_provider={STATS.provider_seconds:.2f}s "
        f"provider_call_total={STATS.seconds:.2f}s per_article_wall={wall * 1000 / count:.2f}ms"
    )
    print(
        f"cpu={cpu:.2f}s of which in deep-translator {STATS.provider_cpu_seconds:.2f}s: "
        f"overhead_cpu_ms_per_article={overhead_cpu_ms:.2f} (wall overhead counts waiting for Redis, "
        "SQLite and, on a busy machine, for a CPU)"
    )
    ok = calls == len(unique_chunks) and overhead_ms <= TARGET_OVERHEAD_MS and done == count and wrong == 0
    print(
        f"provider_calls={calls} (target=={len(unique_chunks)} unique chunks) "
        f"overhead_ms_per_article={overhead_ms:.2f} (target<={TARGET_OVERHEAD_MS}) "
        f"characters_sent={chars_sent} translated={done}/{count}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
