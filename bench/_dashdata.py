"""The dashboard bench's database: where it lives, how its processes reach it, and its generated articles.

Articles are generated with one ``INSERT ... SELECT generate_series`` per
batch: text is drawn in SQL from word lists in eight languages, with skewed
word frequencies, titles of 6-14 words and summaries of 15-90 words; English
text beside the original. The GIN index is rebuilt after the load. A database
with the right row count is reused. Used by bench/dashboard.py and bench/live.py.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BENCH_PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/6")
# (country, language) of the generated outlets.
OUTLETS = [
    ("MX", "es"), ("ES", "es"), ("AR", "es"), ("FR", "fr"), ("BR", "pt"),
    ("PT", "pt"), ("DE", "de"), ("IT", "it"), ("GB", "en"), ("US", "en"), ("RU", "ru"),
]  # fmt: skip
# Real words per language, most frequent first; vocabulary() spreads them over the ranks.
_WORD_TEXT = {
    "en": (
        "the government minister said talks on trade and critical minerals would continue this week while "
        "markets reacted to new data on inflation growth exports lithium energy prices election court ruling "
        "protest police security agreement summit president parliament budget tax reform health hospital "
        "vaccine climate drought flood storm wildfire migration border talks ceasefire army missile attack "
        "drone sanctions oil gas pipeline bank interest rate currency debt investors strike workers union "
        "wages football league championship final coach transfer record copper"
    ),
    "es": (
        "el gobierno ministro dijo que las negociaciones sobre comercio y minerales críticos seguirán esta "
        "semana mientras los mercados reaccionaron a nuevos datos de inflación crecimiento exportaciones "
        "litio energía precios elección tribunal protesta policía seguridad acuerdo cumbre presidente "
        "congreso presupuesto impuestos reforma salud hospital vacuna clima sequía inundación tormenta "
        "migración frontera ejército sanciones petróleo banco tasa moneda deuda inversionistas huelga "
        "trabajadores salarios fútbol"
    ),
    "fr": (
        "le gouvernement ministre a déclaré que les négociations sur le commerce et les minerais critiques "
        "continueraient cette semaine tandis que les marchés réagissaient aux nouvelles données inflation "
        "croissance exportations lithium énergie prix élection tribunal manifestation police sécurité accord "
        "sommet président assemblée budget impôts réforme santé hôpital vaccin climat sécheresse inondation"
    ),
    "pt": (
        "o governo ministro disse que as negociações sobre comércio e minerais críticos continuarão esta "
        "semana enquanto os mercados reagiram a novos dados de inflação crescimento exportações lítio energia "
        "preços eleição tribunal protesto polícia segurança acordo cúpula presidente congresso orçamento"
    ),
    "de": (
        "die Regierung Minister sagte dass die Gespräche über Handel und kritische Rohstoffe diese Woche "
        "fortgesetzt werden während die Märkte auf neue Daten zu Inflation Wachstum Exporte Lithium Energie "
        "Preise Wahl Gericht Protest Polizei Sicherheit Abkommen Gipfel Präsident Bundestag Haushalt"
    ),
    "it": (
        "il governo ministro ha detto che i negoziati sul commercio e sui minerali critici continueranno "
        "questa settimana mentre i mercati reagivano ai nuovi dati su inflazione crescita esportazioni litio "
        "energia prezzi elezioni tribunale protesta polizia sicurezza accordo vertice presidente bilancio"
    ),
    "ru": (
        "правительство министр заявил что переговоры о торговле и критических минералах продолжатся на этой "
        "неделе пока рынки реагировали на новые данные об инфляции росте экспорте литии энергии ценах выборах "
        "суде протесте полиции безопасности соглашении саммите президенте бюджете"
    ),
}
WORDS = {lang: text.split() for lang, text in _WORD_TEXT.items()}
SYLLABLES = ["ka", "lo", "mi", "ter", "san", "dre", "vo", "lin", "por", "ta", "ne", "ri", "gu", "bel", "os", "an"]
VOCABULARY_SIZE = 4096


def vocabulary(lang: str) -> list[str]:
    """About 4,000 words: the real ones spread over the frequency ranks, pseudo-words between.

    Words are drawn with a power law over the list, so position is frequency:
    in a million articles a real word near the top is in roughly a sixth of
    them, one further down in one or two percent, like news vocabulary.
    """
    real = WORDS[lang]
    pseudo = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
    words: list[str] = []
    step = VOCABULARY_SIZE // (len(real) + 1)
    for i in range(VOCABULARY_SIZE):
        if i % step == 0 and i // step < len(real):
            words.append(real[i // step])
        else:
            words.append(pseudo[(i * 2654435761 + sum(map(ord, lang))) % len(pseudo)])
    return words


CATEGORIES = ["Politics", "Economy", "World", "Sports", "Technology", "Culture", "Health", ""]


def pg_url(db: str) -> str:
    return f"{BENCH_PG.rstrip('/')}/{db}"


def env_for(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=pg_url(db),
        REDIS_URL=BENCH_REDIS,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        DB_CONN_MAX_AGE="600",
        LOG_LEVEL="WARNING",
        NEWSDESK_VAR_DIR=str(ROOT / "var" / "bench-dashboard"),
    )
    return env


# --- data ---------------------------------------------------------------------


def _filler(cursor, table: str, given: set[str]) -> tuple[list[str], list[str]]:
    """Columns another migration may have added as NOT NULL without a default: fill with zero values."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL AND is_generated = 'NEVER'",
        [table],
    )
    zero = {"boolean": "false", "jsonb": "'{}'::jsonb", "json": "'{}'::json"}
    cols, exprs = [], []
    for name, dtype in cursor.fetchall():
        if name in given:
            continue
        cols.append(name)
        if dtype in zero:
            exprs.append(zero[dtype])
        elif "timestamp" in dtype:
            exprs.append("now()")
        elif dtype in ("integer", "bigint", "smallint", "double precision", "real", "numeric"):
            exprs.append("0")
        else:
            exprs.append("''")
    return cols, exprs


def data_generate(*, cursor, articles: int, db: str) -> float:
    # newsdesk.models is a package of Django models: the app registry must be ready first.
    os.environ.update(env_for(db))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from newsdesk.models.search_schema import POSTGRES_INSTALL

    start = time.perf_counter()
    cursor.execute("TRUNCATE newsdesk_article, newsdesk_story, newsdesk_source RESTART IDENTITY CASCADE")
    sources = 300
    source_given = {"id", "name", "kind", "url", "country", "language", "enabled", "next_poll_at", "state", "category"}
    extra_cols, extra_vals = _filler(cursor, "newsdesk_source", source_given)
    for i in range(sources):
        country, lang = OUTLETS[i % len(OUTLETS)]
        cols = [
            "name",
            "kind",
            "url",
            "country",
            "language",
            "enabled",
            "next_poll_at",
            "state",
            "category",
            *extra_cols,
        ]
        vals = ["%s", "'feed'", "%s", "%s", "%s", "true", "now() + interval '1 day'", "'idle'", "''", *extra_vals]
        cursor.execute(
            f"INSERT INTO newsdesk_source ({', '.join(cols)}) VALUES ({', '.join(vals)})",  # noqa: S608 (fixed names)
            [f"Outlet-{i} {country}", f"https://outlet{i}.example/feed.xml", country, lang],
        )
    stories = max(articles // 4, 1)
    story_given = {"id", "headline", "source_count", "article_count", "country_count", "language_count"}
    extra_cols, extra_vals = _filler(cursor, "newsdesk_story", story_given)
    cursor.execute(
        f"INSERT INTO newsdesk_story (headline, source_count, article_count, country_count, language_count"  # noqa: S608
        f"{''.join(', ' + c for c in extra_cols)}) "
        "SELECT 'Story ' || g, 1 + floor(power(random(), 6) * 40)::int, 1, 1, 1"
        f"{''.join(', ' + v for v in extra_vals)} FROM generate_series(1, %s) g",
        [stories],
    )
    cursor.execute("DROP INDEX IF EXISTS article_search_gin")  # built once after the load
    _articles_copy(cursor=cursor, articles=articles, sources=sources, stories=stories, start=start)
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for sql in POSTGRES_INSTALL:
        cursor.execute(sql)
    cursor.execute("VACUUM ANALYZE newsdesk_article")
    cursor.execute("ANALYZE newsdesk_story")
    cursor.execute("ANALYZE newsdesk_source")
    return time.perf_counter() - start


def _zero(sql_expr: str, now: datetime):
    return {"false": False, "0": 0, "now()": now, "''": ""}.get(sql_expr, "{}")


def _articles_copy(*, cursor, articles: int, sources: int, stories: int, start: float) -> None:
    """COPY articles built in Python: seeded, skewed word draws (random.choices runs in C)."""
    rng = random.Random(20260209)
    vocab = {lang: vocabulary(lang) for lang in WORDS}
    # Power-law ranks: P(rank < k) = (k/n)^(1/3), the same law the docs describe.
    n = VOCABULARY_SIZE
    cum = [((k + 1) / n) ** (1 / 3) for k in range(n)]
    article_given = {
        "source_id", "dedupe_key", "url", "category", "title_orig", "summary_orig", "title_en", "summary_en",
        "language", "language_declared", "country", "translation_status", "published_at", "fetched_at",
        "updated_at", "story_id", "id", "content_orig", "content_en", "author", "content_hash",
        "language_detected", "translation_provider", "translation_error", "translation_attempts", "story_evidence",
    }  # fmt: skip
    extra_cols, extra_vals = _filler(cursor, "newsdesk_article", article_given)
    now = datetime.now(UTC)
    extra = [_zero(v, now) for v in extra_vals]
    cols = [
        "source_id", "dedupe_key", "url", "category", "title_orig", "summary_orig", "title_en", "summary_en",
        "language", "language_declared", "country", "translation_status", "published_at", "fetched_at",
        "updated_at", "story_id", "content_orig", "content_en", "author", "content_hash", "language_detected",
        "translation_provider", "translation_error", "translation_attempts", "story_evidence", *extra_cols,
    ]  # fmt: skip

    def text(lang: str, low: int, high: int) -> str:
        return " ".join(rng.choices(vocab[lang], cum_weights=cum, k=rng.randint(low, high)))

    with cursor.copy(f"COPY newsdesk_article ({', '.join(cols)}) FROM STDIN") as copy:
        for g in range(1, articles + 1):
            src = 1 + g % sources
            country, lang = OUTLETS[(src - 1) % len(OUTLETS)]
            title_en = text("en", 6, 14).capitalize()
            summary_en = text("en", 15, 90)
            if lang == "en":
                title_orig, summary_orig, status = title_en, summary_en, "not_needed"
            else:
                title_orig, summary_orig = text(lang, 6, 14).capitalize(), text(lang, 15, 90)
                status = "pending" if g % 50 == 0 else "failed" if g % 97 == 0 else "done"
            published = now - timedelta(seconds=g * 30 + rng.random() * 30)
            copy.write_row(
                [
                    src, f"b{g}", f"https://outlet{src}.example/a/{g}", CATEGORIES[g % len(CATEGORIES)],
                    title_orig, summary_orig, title_en, summary_en, lang, lang, country, status,
                    published, now, now, 1 + (g * 7919) % stories if g % 10 < 7 else None,
                    "", "", "", "", lang, "", "", 0, "{}", *extra,
                ]
            )  # fmt: skip
            if g % 100_000 == 0:
                print(f"  articles {g:,}/{articles:,} ({time.perf_counter() - start:.0f}s)", flush=True)


def database_prepare(*, db: str, articles: int, regen: bool) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db}"')
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env_for(db), check=True)
    with psycopg.connect(pg_url(db), autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM newsdesk_article")
        have = cursor.fetchone()[0]
        if have == articles and not regen:
            print(f"reusing {have:,} articles in {db}", flush=True)
            # An expression index added by a later migration has no statistics until ANALYZE.
            cursor.execute("SELECT 1 FROM pg_stats WHERE tablename = 'article_category_ci_idx'")
            if cursor.fetchone() is None:
                cursor.execute("ANALYZE newsdesk_article")
            return
        print(f"generating {articles:,} articles in {db}", flush=True)
        took = data_generate(cursor=cursor, articles=articles, db=db)
        print(f"generated in {took:.0f}s", flush=True)
