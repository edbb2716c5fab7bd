"""From feed to finished card: the whole path on the shipped defaults.

    .venv/bin/python bench/pipeline.py --quick     # 2,000 items from 40 feeds
    .venv/bin/python bench/pipeline.py             # 10,000 items from 200 feeds

The production process set, as the Procfile starts it: gunicorn with
``config/gunicorn.py`` (its own worker count), one Celery worker at
``--concurrency=2`` on the Procfile's queues, beat, and a redis-server this
bench starts on a free loopback port. It creates its own PostgreSQL database
(``bench_pipeline`` by default) and touches no other database or queue.
Settings are the shipped defaults; the bench sets only what a deployment
must (database, Redis, secret key, allowed host, loopback feeds allowed, the
translation provider's loopback URL, TLS at the proxy).

Sources: loopback feeds (RSS, 50 items each) and a drop inbox (NDJSON files).
The text is generated here: news events of four kinds (earthquakes, rate
decisions, wildfires, elections) in 15 countries, each covered by one to eight
outlets writing in English, Spanish, German, French or Portuguese, with
real-length titles and leads (when ../shared/corpora/langid is present, each
lead ends with one real sentence in its language, read at run time).

Phases:

1. **cold**: every feed is new (10,000 / 2,000 items) and the inbox holds
   its files; translation off (no provider configured, as the issue measured).
   Reports the time from the first poll until every item is finished
   (language known, in a story, translation done / not_needed / failed;
   ``pending`` never counts), items/s end to end, and cold polling items/s
   (items stored by polls / time from the first poll's start to the last
   poll's end, enrichment queued and running on the same worker).
2. **steady**: the worker and beat restart with a loopback provider speaking
   Google's protocol (tests/support/translator.py) at 150 ms a call and the
   shipped rate limits. Feeds publish 1 new item/s spread over all feeds;
   every source is polled about every 20 s (the bench marks sources due and
   sends ``dispatch_due_sources``; the shipped schedule polls a busy feed every
   5 minutes, which would only delay when an item is first seen). Reports the
   freshness p50/p95 from the poll that first stored an item (its
   ``fetched_at``) to the moment the bench first sees its card finished, with
   publish-to-card beside it, and the time until every item is translated.
3. **memory**: PSS (shared pages counted once) and RSS of web + worker + beat
   + Redis, sampled every half second through both phases; the peak sum.

The last line prints the figures beside their targets (2 cores). The machine
this runs on may be shared: compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _loopback as loopback  # noqa: E402
from bench._services import database_drop, database_recreate  # noqa: E402

VAR = ROOT / "var" / "bench-pipeline"
LANGID = ROOT.parent / "shared" / "corpora" / "langid"

LANGS = ("en", "es", "de", "fr", "pt")
LANG_SHARE = (0.40, 0.20, 0.15, 0.15, 0.10)

# (name in en, es, de, fr, pt), cities.
LANDS = [
    (("Peru", "Perú", "Peru", "Pérou", "Peru"), ("Arequipa", "Cusco", "Trujillo")),
    (("Chile", "Chile", "Chile", "Chili", "Chile"), ("Valparaíso", "Concepción", "Antofagasta")),
    (("Mexico", "México", "Mexiko", "Mexique", "México"), ("Puebla", "Oaxaca", "Monterrey")),
    (("Spain", "España", "Spanien", "Espagne", "Espanha"), ("Valencia", "Sevilla", "Zaragoza")),
    (("Portugal", "Portugal", "Portugal", "Portugal", "Portugal"), ("Leiria", "Coimbra", "Braga")),
    (("Greece", "Grecia", "Griechenland", "Grèce", "Grécia"), ("Patras", "Larissa", "Heraklion")),
    (("Turkey", "Turquía", "Türkei", "Turquie", "Turquia"), ("Izmir", "Antalya", "Bursa")),
    (("Italy", "Italia", "Italien", "Italie", "Itália"), ("Palermo", "Bari", "Catania")),
    (("Japan", "Japón", "Japan", "Japon", "Japão"), ("Sendai", "Fukuoka", "Niigata")),
    (("Indonesia", "Indonesia", "Indonesien", "Indonésie", "Indonésia"), ("Bandung", "Medan", "Makassar")),
    (("Canada", "Canadá", "Kanada", "Canada", "Canadá"), ("Kelowna", "Halifax", "Calgary")),
    (("Brazil", "Brasil", "Brasilien", "Brésil", "Brasil"), ("Recife", "Manaus", "Curitiba")),
    (("Colombia", "Colombia", "Kolumbien", "Colombie", "Colômbia"), ("Medellín", "Cali", "Pereira")),
    (("the Philippines", "Filipinas", "den Philippinen", "les Philippines", "Filipinas"), ("Cebu", "Davao", "Iloilo")),
    (("Morocco", "Marruecos", "Marokko", "Maroc", "Marrocos"), ("Fez", "Agadir", "Tangier")),
]
FIRST = ["Ana", "Tomás", "Lucía", "Mateo", "Sofia", "Andreas", "Marta", "Jorge", "Elena", "Kenji", "Ayşe", "Rui"]
LAST = ["Vargas", "Rojas", "Ferreira", "Keller", "Moreau", "Castillo", "Papadakis", "Yilmaz", "Tanaka", "Silva"]
DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "pt": ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"],
}
NTH = {
    "en": ["second", "third", "fourth", "fifth"],
    "es": ["segunda", "tercera", "cuarta", "quinta"],
    "de": ["zweite", "dritte", "vierte", "fünfte"],
    "fr": ["deuxième", "troisième", "quatrième", "cinquième"],
    "pt": ["segunda", "terceira", "quarta", "quinta"],
}
# kind -> language -> (title, lead)
TEMPLATES = {
    "quake": {
        "en": (
            "Magnitude {mag} earthquake shakes {city}, {land}",
            "A magnitude {mag} earthquake struck near {city} on {day}, damaging buildings and leaving about {n} "
            "thousand homes without power, according to {land}'s civil protection agency.",
        ),
        "es": (
            "Un sismo de magnitud {mag} sacude {city}, {land}",
            "Un terremoto de magnitud {mag} se registró cerca de {city} el {day}, dañó edificios y dejó sin "
            "electricidad a unos {n} mil hogares, según la agencia de protección civil de {land}.",
        ),
        "de": (
            "Erdbeben der Stärke {mag} erschüttert {city} in {land}",
            "Ein Erdbeben der Stärke {mag} hat am {day} die Region um {city} erschüttert, Gebäude beschädigt und "
            "rund {n} tausend Haushalte ohne Strom gelassen, teilte der Zivilschutz von {land} mit.",
        ),
        "fr": (
            "Un séisme de magnitude {mag} secoue {city}, {land}",
            "Un séisme de magnitude {mag} a frappé la région de {city} {day}, endommageant des bâtiments et privant "
            "d'électricité quelque {n} mille foyers, selon la protection civile de {land}.",
        ),
        "pt": (
            "Terremoto de magnitude {mag} atinge {city}, {land}",
            "Um terremoto de magnitude {mag} atingiu a região de {city} na {day}, danificando edifícios e deixando "
            "cerca de {n} mil casas sem energia, segundo a defesa civil de {land}.",
        ),
    },
    "rates": {
        "en": (
            "{land}'s central bank raises rates to {rate}% as inflation persists",
            "The central bank of {land} raised its benchmark interest rate to {rate}% on {day}, its {nth} increase "
            "this year, saying inflation of {infl}% remained well above target, governor {person} said.",
        ),
        "es": (
            "El banco central de {land} sube los tipos al {rate}% ante la inflación",
            "El banco central de {land} elevó el {day} su tasa de referencia al {rate}%, la {nth} subida del año, "
            "al considerar que la inflación del {infl}% sigue muy por encima del objetivo, dijo {person}.",
        ),
        "de": (
            "Zentralbank von {land} erhöht Leitzins auf {rate} Prozent",
            "Die Zentralbank von {land} hat am {day} den Leitzins auf {rate} Prozent angehoben, die {nth} Erhöhung "
            "in diesem Jahr; die Inflation von {infl} Prozent liege deutlich über dem Ziel, sagte {person}.",
        ),
        "fr": (
            "La banque centrale de {land} relève son taux à {rate} %",
            "La banque centrale de {land} a relevé {day} son taux directeur à {rate} %, sa {nth} hausse de l'année, "
            "estimant que l'inflation de {infl} % reste bien supérieure à l'objectif, selon {person}.",
        ),
        "pt": (
            "Banco central de {land} eleva juros para {rate}%",
            "O banco central de {land} elevou na {day} a taxa básica de juros para {rate}%, a {nth} alta do ano, "
            "afirmando que a inflação de {infl}% continua muito acima da meta, disse {person}.",
        ),
    },
    "fire": {
        "en": (
            "Wildfire near {city} forces {n},000 to evacuate",
            "Firefighters in {land} battled a wildfire near {city} on {day} that has burned {ha} hectares and "
            "forced about {n},000 residents to leave their homes, regional authorities said.",
        ),
        "es": (
            "Un incendio forestal cerca de {city} obliga a evacuar a {n}.000 personas",
            "Los bomberos de {land} combatían el {day} un incendio forestal cerca de {city} que ha quemado {ha} "
            "hectáreas y obligado a unas {n}.000 personas a abandonar sus casas, según las autoridades regionales.",
        ),
        "de": (
            "Waldbrand bei {city}: {n}.000 Menschen müssen ihre Häuser verlassen",
            "Feuerwehrleute in {land} kämpften am {day} gegen einen Waldbrand bei {city}, der bereits {ha} Hektar "
            "zerstört hat; rund {n}.000 Bewohner mussten ihre Häuser verlassen, teilten die Behörden mit.",
        ),
        "fr": (
            "Un incendie près de {city} force {n} 000 personnes à évacuer",
            "Les pompiers de {land} luttaient {day} contre un incendie près de {city} qui a déjà ravagé {ha} "
            "hectares et contraint environ {n} 000 habitants à quitter leur domicile, selon les autorités.",
        ),
        "pt": (
            "Incêndio perto de {city} obriga {n} mil pessoas a deixar suas casas",
            "Bombeiros de {land} combatiam na {day} um incêndio florestal perto de {city} que já queimou {ha} "
            "hectares e obrigou cerca de {n} mil moradores a deixar suas casas, segundo as autoridades regionais.",
        ),
    },
    "election": {
        "en": (
            "{person} wins presidential election in {land} with {pct}% of the vote",
            "{person} won the presidential election in {land} on {day} with {pct}% of the vote, according to "
            "preliminary results, defeating the incumbent after a campaign dominated by the economy.",
        ),
        "es": (
            "{person} gana las elecciones presidenciales en {land} con el {pct}% de los votos",
            "{person} ganó el {day} las elecciones presidenciales de {land} con el {pct}% de los votos, según "
            "resultados preliminares, tras una campaña dominada por la economía.",
        ),
        "de": (
            "{person} gewinnt Präsidentschaftswahl in {land} mit {pct} Prozent",
            "{person} hat am {day} die Präsidentschaftswahl in {land} mit {pct} Prozent der Stimmen gewonnen, wie "
            "vorläufige Ergebnisse zeigen; den Wahlkampf hatte die Wirtschaftslage bestimmt.",
        ),
        "fr": (
            "{person} remporte la présidentielle en {land} avec {pct} % des voix",
            "{person} a remporté {day} l'élection présidentielle en {land} avec {pct} % des voix, selon des "
            "résultats préliminaires, au terme d'une campagne dominée par l'économie.",
        ),
        "pt": (
            "{person} vence eleição presidencial em {land} com {pct}% dos votos",
            "{person} venceu na {day} a eleição presidencial em {land} com {pct}% dos votos, segundo resultados "
            "preliminares, após uma campanha dominada pela economia.",
        ),
    },
}


# --- The news ---------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    feed: int  # -1: the drop inbox
    key: str
    language: str
    title: str
    lead: str
    event: int
    at: float  # seconds after the start of the steady phase it is published (cold items: 0)


def _padding() -> dict[str, list[str]]:
    """Real sentences per language, read at run time (never copied into the repository)."""
    out: dict[str, list[str]] = {}
    for lang in LANGS:
        path = LANGID / f"{lang}.txt"
        if path.exists():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            out[lang] = [line for line in lines if 40 <= len(line) <= 220][:2000]
    return out


class Newsroom:
    """Events and the items outlets write about them, deterministic from a seed."""

    def __init__(self, seed: int, feeds: int) -> None:
        self.rng = random.Random(seed)
        self.feeds = feeds
        self.feed_lang = self.rng.choices(LANGS, weights=LANG_SHARE, k=feeds)
        self.padding = _padding()
        self.events = 0

    def _event(self) -> dict:
        rng = self.rng
        self.events += 1
        land, cities = rng.choice(LANDS)
        return {
            "id": self.events,
            "kind": rng.choice(list(TEMPLATES)),
            "land": land,
            "city": rng.choice(cities),
            "mag": f"{rng.uniform(4.8, 7.9):.1f}",
            "n": rng.randint(2, 90),
            "rate": f"{rng.uniform(2.0, 14.0):.2f}",
            "infl": f"{rng.uniform(3.0, 12.0):.1f}",
            "ha": rng.randint(300, 25000),
            "pct": f"{rng.uniform(40.5, 68.0):.1f}",
            "person": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "day": rng.randrange(7),
            "nth": rng.randrange(4),
        }

    def _write(self, event: dict, lang: str) -> tuple[str, str]:
        i = LANGS.index(lang)
        fill = dict(event, land=event["land"][i], day=DAYS[lang][event["day"]], nth=NTH[lang][event["nth"]])
        title, lead = TEMPLATES[event["kind"]][lang]
        title, lead = title.format(**fill), lead.format(**fill)
        extra = self.padding.get(lang)
        if extra and self.rng.random() < 0.8:
            lead = f"{lead} {self.rng.choice(extra)}"
        return title, lead

    def cold(self, per_feed: int, drop_items: int) -> list[Item]:
        """``per_feed`` items in every feed and ``drop_items`` in the inbox, 1-8 outlets per event."""
        room = dict.fromkeys(range(self.feeds), per_feed)
        if drop_items:
            room[-1] = drop_items
        items: list[Item] = []
        while room:
            event = self._event()
            outlets = self.rng.sample(list(room), k=min(len(room), self.rng.choice([1, 1, 2, 3, 3, 4, 5, 6, 8])))
            for feed in outlets:
                lang = self.rng.choice(LANGS) if feed < 0 else self.feed_lang[feed]
                title, lead = self._write(event, lang)
                items.append(Item(feed, f"c{len(items)}", lang, title, lead, event["id"], 0.0))
                room[feed] -= 1
                if not room[feed]:
                    del room[feed]
        return items

    def steady(self, seconds: float, rate: float) -> list[Item]:
        """``rate`` new items a second over all feeds, events covered by a few outlets over a minute."""
        items: list[Item] = []
        at = 0.0
        while at < seconds:
            event = self._event()
            for _ in range(self.rng.choice([1, 2, 3, 4])):
                feed = self.rng.randrange(self.feeds)
                title, lead = self._write(event, self.feed_lang[feed])
                items.append(Item(feed, f"s{len(items)}", self.feed_lang[feed], title, lead, event["id"], at))
                at += self.rng.expovariate(rate)
        return [i for i in items if i.at < seconds]


# --- The feed server (its own process) ------------------------------------------------


def _item_xml(item: Item, published: datetime) -> str:
    from xml.sax.saxutils import escape

    return (
        f"<item><title>{escape(item.title)}</title>"
        f"<link>https://outlet{item.feed}.example.org/news/{item.key}</link>"
        f'<guid isPermaLink="false">{item.key}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<description>{escape(f'<p>{item.lead}</p>')}</description></item>"
    )


def _serve(port_queue: multiprocessing.Queue, cold: list[Item], steady: list[Item], start_at: object) -> None:
    """RSS for every feed; steady items appear once the parent has set ``start_at`` and their time came."""
    epoch = datetime.now(UTC) - timedelta(hours=2)
    by_feed: dict[int, list[Item]] = {}
    for item in cold:
        if item.feed >= 0:
            by_feed.setdefault(item.feed, []).append(item)
    later: dict[int, list[Item]] = {}
    for item in steady:
        later.setdefault(item.feed, []).append(item)

    def body(feed: int) -> tuple[bytes, str]:
        begun = start_at.value  # type: ignore[attr-defined]
        now = time.time()
        fresh = [i for i in later.get(feed, []) if begun and begun + i.at <= now]
        items = [(i, datetime.fromtimestamp(begun + i.at, UTC)) for i in fresh]
        items += [(i, epoch + timedelta(seconds=n)) for n, i in enumerate(by_feed.get(feed, []))]
        items.sort(key=lambda pair: pair[1], reverse=True)
        lang = by_feed[feed][0].language if feed in by_feed else "en"
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Outlet {feed}</title><link>https://outlet{feed}.example.org/</link>"
            f"<description>Bench outlet</description><language>{lang}</language>"
            + "".join(_item_xml(i, at) for i, at in items[:50])
            + "</channel></rss>"
        )
        return xml.encode(), f'"{feed}-{len(fresh)}"'

    def answer(head: bytes) -> bytes:
        req = loopback.request(head)
        data, etag = body(req.feed)
        if req.if_none_match == etag.encode():
            return loopback.not_modified(etag.encode())
        return loopback.ok(data, etag.encode())

    loopback.serve(answer, port_queue)


def _translator(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The loopback Google-protocol provider in its own process, answering after ``latency`` seconds."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from tests.support.translator import FakeTranslator\n"
        "class Slow(FakeTranslator):\n"
        "    def _google(self, request):\n"
        "        time.sleep(float(sys.argv[2])); return super()._google(request)\n"
        "with Slow() as s:\n"
        "    print(s.url(''), flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT), str(latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().rstrip("/")


# --- Processes and memory --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree(pid: int) -> list[int]:
    out, pending = [], [pid]
    while pending:
        current = pending.pop()
        out.append(current)
        try:
            pending += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            continue
    return out


def _pss_rss_kb(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return pss, rss


class MemorySampler(threading.Thread):
    """Peak PSS and RSS sums of the process set, every half second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.roots: dict[str, int] = {}
        self.peak_pss = self.peak_rss = 0
        self.peak_parts: dict[str, tuple[int, int]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            parts = {}
            for name, root in list(self.roots.items()):
                sums = [_pss_rss_kb(pid) for pid in _tree(root)]
                parts[name] = (sum(p for p, _ in sums), sum(r for _, r in sums))
            pss = sum(p for p, _ in parts.values())
            if pss > self.peak_pss:
                self.peak_pss, self.peak_parts = pss, parts
            self.peak_rss = max(self.peak_rss, sum(r for _, r in parts.values()))


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]]

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _procfile_worker_queues() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("worker:"):
            return next(a.split("=", 1)[1] for a in line.split() if a.startswith("--queues="))
    raise SystemExit("Procfile has no worker line")


def _start_worker_and_beat(stack: Stack, env: dict[str, str]) -> float:
    """Start both; return the seconds until the worker said it was ready (models preloaded)."""
    log = VAR / "worker.log"
    offset = log.stat().st_size if log.exists() else 0
    started = time.time()
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    stack.start(
        "worker",
        [*celery, "worker", "--loglevel=INFO", f"--queues={_procfile_worker_queues()}", "--concurrency=2"],
        env,
    )
    stack.start("beat", [*celery, "beat", "--loglevel=INFO", "-s", str(VAR / "celerybeat-schedule")], env)
    while time.time() - started < 600:
        with log.open("rb") as fh:
            fh.seek(offset)
            if b" ready." in fh.read():
                return time.time() - started
        time.sleep(0.5)
    raise SystemExit(f"the worker did not start within 600s; see {log}")


# --- Measuring ---------------------------------------------------------------------------


def _finished_q():
    from django.db.models import Q

    from newsdesk.models import TranslationStatus

    return (
        Q(story__isnull=False)
        & ~Q(language="")
        & Q(translation_status__in=[TranslationStatus.DONE, TranslationStatus.NOT_NEEDED, TranslationStatus.FAILED])
    )


def _wait_all_finished(expected: int, timeout: float, label: str) -> float:
    """Wall time at which every one of ``expected`` articles was first seen finished."""
    from newsdesk.models import Article

    deadline = time.time() + timeout
    last = -1
    while time.time() < deadline:
        total = Article.objects.count()
        done = Article.objects.filter(_finished_q()).count()
        if total >= expected and done >= total:
            return time.time()
        if done != last:
            print(f"  {label}: {done}/{expected} finished", flush=True)
            last = done
        time.sleep(0.5)
    raise SystemExit(f"{label}: not all {expected} articles finished within {timeout:.0f}s; see {VAR}/*.log")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _write_drops(inbox: Path, items: list[Item]) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(minutes=30)
    for start in range(0, len(items), 50):
        lines = [
            json.dumps(
                {
                    "guid": i.key,
                    "title": i.title,
                    "summary": i.lead,
                    "url": f"https://wire.example.org/{i.key}",
                    "published": (now + timedelta(seconds=n)).isoformat(),
                    "language": i.language,
                    "source": f"Wire {i.language.upper()}",
                },
                ensure_ascii=False,
            )
            for n, i in enumerate(items[start : start + 50])
        ]
        tmp = inbox.parent / f".drop-{start}.ndjson"
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        old = time.time() - 60  # settled: older than NEWSDESK_DROP_SETTLE_SECONDS
        os.utime(tmp, (old, old))
        tmp.rename(inbox / f"wire-{start:05d}.ndjson")


def _web_probe(port: int, stop: threading.Event) -> None:
    """An editor with the dashboard open: one page every two seconds."""
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    )
    while not stop.wait(2.0):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 items from 40 feeds")
    parser.add_argument("--steady-seconds", type=float, help="publishing window (default 60 quick, 120 full)")
    parser.add_argument("--latency", type=float, default=0.150, help="translation provider latency, seconds")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_pipeline")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--semantic-model",
        default="multilingual-use-v3",
        help="NEWSDESK_COVERAGE_SEMANTIC_MODEL (default: the default install's model, even when an optional "
        "larger one is installed, which auto would prefer)",
    )
    args = parser.parse_args()
    feeds = 40 if args.quick else 200
    per_feed = 50
    drop_items = 100 if args.quick else 500
    steady_seconds = args.steady_seconds or (60.0 if args.quick else 120.0)
    steady_rate = 1.0
    poll_every = 20.0

    VAR.mkdir(parents=True, exist_ok=True)
    for old in VAR.glob("*.log"):
        old.unlink()
    room = Newsroom(seed=17, feeds=feeds)
    cold = room.cold(per_feed, drop_items)
    steady = room.steady(steady_seconds, steady_rate)
    feed_items = sum(1 for i in cold if i.feed >= 0)
    print(
        f"news: {room.events} events, {feed_items} feed items in {feeds} feeds, {drop_items} in the inbox, "
        f"{len(steady)} steady items; languages {dict(sorted({lang: sum(1 for i in cold if i.language == lang) for lang in LANGS}.items()))}; "
        f"real-sentence padding: {'yes' if room.padding else 'no (../shared absent)'}",
        flush=True,
    )

    from newsdesk.embedded_redis import start_server

    redis_port = _free_port()
    redis_proc = start_server(redis_port, VAR)
    web_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "DJANGO_", "GUNICORN_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "USE_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "NEWSDESK_VAR_DIR": str(VAR),
        "NEWSDESK_DROP_ROOT": str(VAR / "drops"),
        "NEWSDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "NEWSDESK_TRANSLATORS": "",
        "NEWSDESK_COVERAGE_SEMANTIC_MODEL": args.semantic_model,
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
    }
    os.environ.update(env)
    database_recreate(args.database_url)
    start_at = multiprocessing.Value("d", 0.0)
    server = loopback.FeedServer(_serve, cold, steady, start_at)
    stack = Stack(env=env, log_dir=VAR, procs={})
    sampler = MemorySampler()
    translator = None
    probe_stop = threading.Event()
    figures: dict[str, float] = {}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from django.conf import settings
        from django.db.models import Count, Max, Min
        from django.utils import timezone

        from newsdesk.coverage.semantic import backend_name, semantic_enabled
        from newsdesk.models import Article, FetchAttempt, Source, SourceKind

        base = server.base_url()
        Source.objects.bulk_create(
            [
                Source(name=f"Outlet {i}", url=f"{base}/feeds/{i}.xml", language=room.feed_lang[i], country="")
                for i in range(feeds)
            ]
        )
        Source.objects.create(name="Wire inbox", kind=SourceKind.DROP, inbox="wire", url="")
        _write_drops(VAR / "drops" / "wire", [i for i in cold if i.feed < 0])
        print(f"coverage backend: {backend_name()}; gunicorn workers: see {VAR}/web.log", flush=True)
        # The per-item rates: 10,000 items in 60 s lexical, in 180 s with the semantic backend.
        semantic = semantic_enabled()
        target_cold = (180.0 if semantic else 60.0) / (10_000 / (feed_items + drop_items))

        stack.start("web", [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"], env)
        sampler.roots.update({"web": stack.procs["web"].pid, "redis": redis_proc.pid})
        sampler.start()
        threading.Thread(target=_web_probe, args=(web_port, probe_stop), daemon=True).start()

        # --- Phase 1: cold ------------------------------------------------------------
        t_start = time.time()
        figures["worker_ready_s"] = _start_worker_and_beat(stack, env)
        sampler.roots.update({"worker": stack.procs["worker"].pid, "beat": stack.procs["beat"].pid})
        total = feed_items + drop_items
        done_at = _wait_all_finished(total, timeout=1800 if not args.quick else 600, label="cold")
        polls = FetchAttempt.objects.filter(source__kind=SourceKind.FEED)
        span = polls.aggregate(first=Min("started_at"), last=Max("started_at"))
        first_poll = span["first"].timestamp()
        last_end = max(a.started_at.timestamp() + a.duration_ms / 1000 for a in polls.order_by("-started_at")[:50])
        polled = Article.objects.filter(source__kind=SourceKind.FEED, source__parent__isnull=True).count()
        figures["cold_finished_s"] = done_at - first_poll
        figures["items_per_s"] = total / figures["cold_finished_s"]
        figures["poll_items_per_s"] = polled / max(last_end - first_poll, 1e-6)
        figures["worker_start_s"] = first_poll - t_start
        print(
            f"cold: {total} items finished {figures['cold_finished_s']:.1f}s after the first poll "
            f"({figures['items_per_s']:.0f} items/s); polls stored {polled} items in {last_end - first_poll:.1f}s "
            f"({figures['poll_items_per_s']:.0f} items/s, enrichment queued); worker start to ready "
            f"{figures['worker_ready_s']:.1f}s (language models preloaded), to first poll {figures['worker_start_s']:.1f}s",
            flush=True,
        )
        stories = Article.objects.values("story").distinct().count()
        print(f"cold: {stories} stories for {room.events} generated events (informational)", flush=True)

        # --- Phase 2: steady, translation on --------------------------------------------
        stack.stop("beat")
        stack.stop("worker")
        translator, provider = _translator(args.latency)
        steady_env = {**env, "NEWSDESK_TRANSLATORS": "google", "NEWSDESK_GOOGLE_TRANSLATE_URL": f"{provider}/m"}
        Source.objects.filter(kind=SourceKind.FEED).update(next_poll_at=timezone.now() + timedelta(days=1))
        _start_worker_and_beat(stack, steady_env)
        sampler.roots.update({"worker": stack.procs["worker"].pid, "beat": stack.procs["beat"].pid})
        from newsdesk.tasks import dispatch_due_sources

        before = set(Article.objects.values_list("id", flat=True))
        start_at.value = time.time()  # type: ignore[attr-defined]
        seen: dict[int, float] = {}
        feed_ids = list(Source.objects.filter(kind=SourceKind.FEED).order_by("id").values_list("id", flat=True))
        next_tick = 0.0
        turn = 0
        end = start_at.value + steady_seconds  # type: ignore[attr-defined]
        while True:
            now = time.time()
            if now < end and now >= next_tick:
                # Each source about every ``poll_every`` seconds, spread over the window.
                share = max(1, round(len(feed_ids) * 1.0 / poll_every))
                due = [feed_ids[(turn + k) % len(feed_ids)] for k in range(share)]
                turn += share
                Source.objects.filter(id__in=due).update(next_poll_at=timezone.now())
                dispatch_due_sources.delay()
                next_tick = now + 1.0
            fresh = Article.objects.filter(_finished_q()).exclude(id__in=before).exclude(id__in=list(seen))
            for article_id in fresh.values_list("id", flat=True):
                seen[article_id] = now
            new_total = Article.objects.exclude(id__in=before).count()
            if now >= end and new_total and len(seen) >= new_total:
                break
            if now > end + 600:
                print(f"steady: {new_total - len(seen)} items still unfinished 600s after publishing stopped")
                break
            time.sleep(0.25)
        rows = Article.objects.filter(id__in=list(seen)).values_list("id", "fetched_at", "published_at")
        from_poll = [seen[i] - fetched.timestamp() for i, fetched, _ in rows]
        from_publish = [seen[i] - published.timestamp() for i, _, published in rows]
        translated_at = max(seen.values()) if seen else end
        figures["fresh_p50"] = _pct(from_poll, 0.50)
        figures["fresh_p95"] = _pct(from_poll, 0.95)
        figures["publish_p50"] = _pct(from_publish, 0.50)
        figures["publish_p95"] = _pct(from_publish, 0.95)
        figures["translation_s"] = translated_at - start_at.value  # type: ignore[attr-defined]
        status_counts = dict(
            Article.objects.filter(id__in=list(seen))
            .values_list("translation_status")
            .annotate(n=Count("id"))
            .values_list("translation_status", "n")
        )
        print(
            f"steady: {len(seen)} items at {steady_rate:g}/s over {feeds} feeds for {steady_seconds:g}s, each feed "
            f"polled about every {poll_every:g}s; poll->card p50 {figures['fresh_p50']:.1f}s p95 "
            f"{figures['fresh_p95']:.1f}s; publish->card p50 {figures['publish_p50']:.1f}s p95 "
            f"{figures['publish_p95']:.1f}s (no target); every item translated {figures['translation_s']:.0f}s after "
            f"publishing began (provider {args.latency * 1000:.0f} ms a call, rates "
            f"{settings.NEWSDESK_TRANSLATION_RATES}); statuses {status_counts}",
            flush=True,
        )
    finally:
        probe_stop.set()
        sampler.stop.set()
        for name in ("beat", "worker", "web"):
            stack.stop(name)
        if translator is not None:
            translator.stdin.close()  # type: ignore[union-attr]
            translator.wait(timeout=10)
        server.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            database_drop(args.database_url)

    pss_mb, rss_mb = sampler.peak_pss / 1024, sampler.peak_rss / 1024
    parts = ", ".join(f"{k} {p / 1024:.0f}/{r / 1024:.0f}" for k, (p, r) in sorted(sampler.peak_parts.items()))
    print(f"memory at the PSS peak, PSS/RSS MB: {parts}", flush=True)
    ok = (
        figures["cold_finished_s"] <= target_cold
        and figures["fresh_p95"] <= 10
        and pss_mb <= 1536
        and figures["poll_items_per_s"] >= 1800
    )
    print(
        f"finished_s={figures['cold_finished_s']:.1f} (target<={target_cold:.0f} {'semantic' if semantic else 'lexical'}) "
        f"items_per_s={figures['items_per_s']:.0f} poll_items_per_s={figures['poll_items_per_s']:.0f} (target>=1800) "
        f"fresh_p50={figures['fresh_p50']:.1f} fresh_p95={figures['fresh_p95']:.1f} (target<=10) "
        f"publish_p95={figures['publish_p95']:.1f} translation_s={figures['translation_s']:.0f} "
        f"peak_pss_mb={pss_mb:.0f} (target<=1536) peak_rss_mb={rss_mb:.0f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
