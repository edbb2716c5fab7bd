"""Generated multilingual news for bench/pipeline.py: events, and what outlets write about them.

Each event has its own particulars, as real news does: a country and a city
among CLDR's ~450 exemplar cities (named in each language by Babel's copy of
CLDR, read at run time), a person (a name drawn from 1,600), a calendar date
written the language's way ("3 de diciembre", "3. Dezember") and figures.
Six kinds of event (earthquakes, rate decisions, wildfires, elections,
strikes, takeovers) are written in English, Spanish, German, French and
Portuguese, one to eight outlets an event, titles and leads of real length.
Outlets word one event their own way: each keeps one of two headline styles
per kind, and when ../shared/corpora/langid is present, each outlet's lead
ends with two real sentences of its own in its language, read at run time
(never copied into the repository). Two events of one kind stay hard to tell
apart: in one language and one outlet's style they share every word but
their particulars (place, person, date, figures).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

LANGS = ("en", "es", "de", "fr", "pt")
LANG_SHARE = (0.40, 0.20, 0.15, 0.15, 0.10)
LANGID = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "langid"

FIRST = [
    "Ana",
    "Tomás",
    "Lucía",
    "Mateo",
    "Sofia",
    "Andreas",
    "Marta",
    "Jorge",
    "Elena",
    "Kenji",
    "Ayşe",
    "Rui",
    "Ingrid",
    "Pavel",
    "Amara",
    "Luca",
    "Nadia",
    "Omar",
    "Carmen",
    "Henrik",
    "Yuki",
    "Fatima",
    "Diego",
    "Clara",
    "Stefan",
    "Leila",
    "Hugo",
    "Irene",
    "Kwame",
    "Rosa",
    "Milan",
    "Beatriz",
    "Arjun",
    "Greta",
    "Tariq",
    "Paola",
    "Emil",
    "Noor",
    "Julien",
    "Olga",
]
LAST = [
    "Vargas",
    "Rojas",
    "Ferreira",
    "Keller",
    "Moreau",
    "Castillo",
    "Papadakis",
    "Yilmaz",
    "Tanaka",
    "Silva",
    "Okafor",
    "Lindqvist",
    "Novak",
    "Haddad",
    "Mendes",
    "Brunner",
    "Dubois",
    "Kowalski",
    "Sato",
    "Ortega",
    "Nakamura",
    "Petrov",
    "Alves",
    "Fischer",
    "Laurent",
    "Costa",
    "Herrera",
    "Jansen",
    "Mensah",
    "Ribeiro",
    "Bauer",
    "Rossi",
    "Suzuki",
    "Navarro",
    "Horvat",
    "Almeida",
    "Leclerc",
    "Schmid",
    "Quispe",
    "Andersen",
]

# kind -> language -> (title, lead). Placeholders: land, city, person, date and the kind's figures.
TEMPLATES = {
    "quake": {
        "en": ("Magnitude {mag} earthquake shakes {city}, {land}",
               "A magnitude {mag} earthquake struck near {city} on {date}, damaging buildings and leaving about {n} "
               "thousand homes without power, {person} of {land}'s civil protection agency said."),
        "es": ("Un sismo de magnitud {mag} sacude {city}, {land}",
               "Un terremoto de magnitud {mag} se registró cerca de {city} el {date}, dañó edificios y dejó sin "
               "electricidad a unos {n} mil hogares, según {person}, de la protección civil de {land}."),
        "de": ("Erdbeben der Stärke {mag} erschüttert {city} in {land}",
               "Ein Erdbeben der Stärke {mag} hat am {date} die Region um {city} erschüttert, Gebäude beschädigt und "
               "rund {n} tausend Haushalte ohne Strom gelassen, sagte {person} vom Zivilschutz in {land}."),
        "fr": ("Un séisme de magnitude {mag} secoue {city}, {land}",
               "Un séisme de magnitude {mag} a frappé la région de {city} le {date}, endommageant des bâtiments et "
               "privant d'électricité quelque {n} mille foyers, selon {person}, de la protection civile ({land})."),
        "pt": ("Terremoto de magnitude {mag} atinge {city}, {land}",
               "Um terremoto de magnitude {mag} atingiu a região de {city} em {date}, danificando edifícios e deixando "
               "cerca de {n} mil casas sem energia, disse {person}, da defesa civil de {land}."),
    },
    "rates": {
        "en": ("{land}'s central bank raises rates to {rate}% as inflation persists",
               "The central bank of {land} raised its benchmark interest rate to {rate}% on {date}, saying inflation "
               "of {infl}% remained well above target, governor {person} told reporters in {city}."),
        "es": ("El banco central de {land} sube los tipos al {rate}% ante la inflación",
               "El banco central de {land} elevó el {date} su tasa de referencia al {rate}%, al considerar que la "
               "inflación del {infl}% sigue muy por encima del objetivo, dijo su presidente, {person}, en {city}."),
        "de": ("Zentralbank von {land} erhöht Leitzins auf {rate} Prozent",
               "Die Zentralbank von {land} hat am {date} den Leitzins auf {rate} Prozent angehoben; die Inflation von "
               "{infl} Prozent liege deutlich über dem Ziel, sagte Notenbankchef {person} in {city}."),
        "fr": ("La banque centrale de {land} relève son taux à {rate} %",
               "La banque centrale de {land} a relevé le {date} son taux directeur à {rate} %, estimant que "
               "l'inflation de {infl} % reste bien supérieure à l'objectif, a déclaré {person} à {city}."),
        "pt": ("Banco central de {land} eleva juros para {rate}%",
               "O banco central de {land} elevou em {date} a taxa básica de juros para {rate}%, afirmando que a "
               "inflação de {infl}% continua muito acima da meta, disse o presidente {person} em {city}."),
    },
    "fire": {
        "en": ("Wildfire near {city} forces {n},000 to evacuate in {land}",
               "Firefighters in {land} battled a wildfire near {city} on {date} that has burned {ha} hectares and "
               "forced about {n},000 residents to leave their homes, regional fire chief {person} said."),
        "es": ("Un incendio forestal cerca de {city} obliga a evacuar a {n}.000 personas en {land}",
               "Los bomberos de {land} combatían el {date} un incendio forestal cerca de {city} que ha quemado {ha} "
               "hectáreas y obligado a unas {n}.000 personas a dejar sus casas, según el jefe de bomberos {person}."),
        "de": ("Waldbrand bei {city}: {n}.000 Menschen in {land} müssen ihre Häuser verlassen",
               "Feuerwehrleute in {land} kämpften am {date} gegen einen Waldbrand bei {city}, der bereits {ha} Hektar "
               "zerstört hat; rund {n}.000 Bewohner mussten ihre Häuser verlassen, sagte Einsatzleiter {person}."),
        "fr": ("Un incendie près de {city} force {n} 000 personnes à évacuer ({land})",
               "Les pompiers de {land} luttaient le {date} contre un incendie près de {city} qui a déjà ravagé {ha} "
               "hectares et contraint environ {n} 000 habitants à partir, selon le chef des pompiers {person}."),
        "pt": ("Incêndio perto de {city} obriga {n} mil pessoas a deixar suas casas em {land}",
               "Bombeiros de {land} combatiam em {date} um incêndio florestal perto de {city} que já queimou {ha} "
               "hectares e obrigou cerca de {n} mil moradores a sair de casa, segundo o comandante {person}."),
    },
    "election": {
        "en": ("{person} wins presidential election in {land} with {pct}% of the vote",
               "{person} won the presidential election in {land} on {date} with {pct}% of the vote, according to "
               "preliminary results, and told supporters in {city} the economy would come first."),
        "es": ("{person} gana las elecciones presidenciales en {land} con el {pct}% de los votos",
               "{person} ganó el {date} las elecciones presidenciales de {land} con el {pct}% de los votos, según "
               "resultados preliminares, y prometió ante sus seguidores en {city} priorizar la economía."),
        "de": ("{person} gewinnt Präsidentschaftswahl in {land} mit {pct} Prozent",
               "{person} hat am {date} die Präsidentschaftswahl in {land} mit {pct} Prozent der Stimmen gewonnen, wie "
               "vorläufige Ergebnisse zeigen, und versprach Anhängern in {city}, die Wirtschaft voranzustellen."),
        "fr": ("{person} remporte la présidentielle en {land} avec {pct} % des voix",
               "{person} a remporté le {date} l'élection présidentielle en {land} avec {pct} % des voix, selon des "
               "résultats préliminaires, et promis à ses partisans réunis à {city} de donner la priorité à l'économie."),
        "pt": ("{person} vence eleição presidencial em {land} com {pct}% dos votos",
               "{person} venceu em {date} a eleição presidencial em {land} com {pct}% dos votos, segundo resultados "
               "preliminares, e prometeu a apoiadores em {city} dar prioridade à economia."),
    },
    "strike": {
        "en": ("Rail workers in {land} strike for {days} days over pay",
               "Rail workers across {land} walked out on {date} in a {days}-day strike over pay, halting about {n}0 "
               "trains a day around {city}; union leader {person} demanded a raise of {pct2}%."),
        "es": ("Los ferroviarios de {land} van a la huelga durante {days} días por los salarios",
               "Los trabajadores ferroviarios de {land} iniciaron el {date} una huelga de {days} días por los salarios "
               "que paraliza unos {n}0 trenes diarios en torno a {city}; el sindicalista {person} exige un {pct2}%."),
        "de": ("Bahnbeschäftigte in {land} streiken {days} Tage lang für mehr Lohn",
               "Die Bahnbeschäftigten in {land} haben am {date} einen {days}-tägigen Streik für mehr Lohn begonnen, "
               "rund {n}0 Züge am Tag rund um {city} fallen aus; Gewerkschaftschef {person} fordert {pct2} Prozent."),
        "fr": ("Les cheminots de {land} en grève pendant {days} jours pour les salaires",
               "Les cheminots de {land} ont entamé le {date} une grève de {days} jours pour les salaires, supprimant "
               "environ {n}0 trains par jour autour de {city} ; le syndicaliste {person} réclame {pct2} %."),
        "pt": ("Ferroviários de {land} entram em greve de {days} dias por salários",
               "Os ferroviários de {land} iniciaram em {date} uma greve de {days} dias por salários, que suspende cerca "
               "de {n}0 trens por dia em torno de {city}; o sindicalista {person} exige aumento de {pct2}%."),
    },
    "takeover": {
        "en": ("{firm} agrees to buy {land}'s {target} for ${bn} billion",
               "{firm} agreed on {date} to buy {target}, a {land} logistics group based in {city}, for ${bn} billion "
               "in cash, chief executive {person} said, pending approval by regulators."),
        "es": ("{firm} acuerda comprar la compañía {target} de {land} por {bn} mil millones de dólares",
               "{firm} acordó el {date} comprar {target}, un grupo logístico de {land} con sede en {city}, por {bn} mil "
               "millones de dólares en efectivo, según su consejero delegado, {person}, a falta de aprobación."),
        "de": ("{firm} übernimmt {target} aus {land} für {bn} Milliarden Dollar",
               "{firm} hat sich am {date} auf die Übernahme von {target} geeinigt, einem Logistikkonzern aus {land} "
               "mit Sitz in {city}, für {bn} Milliarden Dollar in bar, sagte Vorstandschef {person}."),
        "fr": ("{firm} va racheter le groupe {target} ({land}) pour {bn} milliards de dollars",
               "{firm} a accepté le {date} de racheter {target}, un groupe logistique de {land} basé à {city}, pour {bn} "
               "milliards de dollars en numéraire, a indiqué son directeur général {person}."),
        "pt": ("{firm} fecha compra da {target}, de {land}, por US$ {bn} bilhões",
               "A {firm} acertou em {date} a compra da {target}, grupo de logística de {land} com sede em {city}, por "
               "US$ {bn} bilhões em dinheiro, disse o presidente-executivo {person}, pendente de aprovação."),
    },
}  # fmt: skip
# A second headline per kind and language: outlets word one event their own way (an
# outlet keeps its style, so its reports of two events of one kind still read alike).
TITLES_ALT = {
    "quake": {
        "en": "{land} earthquake: magnitude {mag} tremor hits near {city}, {n},000 homes without power",
        "es": "Terremoto en {land}: un sismo de {mag} cerca de {city} deja sin luz a {n} mil hogares",
        "de": "Beben der Stärke {mag} nahe {city}: {n}.000 Haushalte in {land} ohne Strom",
        "fr": "Séisme de {mag} près de {city} : {n} 000 foyers privés de courant en {land}",
        "pt": "Tremor de {mag} perto de {city} deixa {n} mil casas sem luz em {land}",
    },
    "rates": {
        "en": "{land} lifts key rate to {rate}% with inflation at {infl}%",
        "es": "{land} eleva su tasa de interés al {rate}% con una inflación del {infl}%",
        "de": "{land}: Notenbank hebt Zins auf {rate} Prozent, Inflation bei {infl} Prozent",
        "fr": "{land} : le taux directeur porté à {rate} %, l'inflation à {infl} %",
        "pt": "{land} sobe a taxa de juros a {rate}% com inflação de {infl}%",
    },
    "fire": {
        "en": "{ha} hectares burned as fire near {city} forces evacuations in {land}",
        "es": "Arden {ha} hectáreas cerca de {city}: miles de evacuados en {land}",
        "de": "{ha} Hektar verbrannt: Feuer bei {city} zwingt Tausende in {land} zur Flucht",
        "fr": "{ha} hectares brûlés près de {city}, des milliers d'évacués en {land}",
        "pt": "Fogo queima {ha} hectares perto de {city} e força retirada de moradores em {land}",
    },
    "election": {
        "en": "{land} elects {person} president with {pct}% of the vote",
        "es": "{person}, nuevo presidente de {land} tras lograr el {pct}% de los votos",
        "de": "{land} wählt {person} mit {pct} Prozent zum Präsidenten",
        "fr": "{person} élu président de {land} avec {pct} % des suffrages",
        "pt": "{person} é eleito presidente de {land} com {pct}% dos votos",
    },
    "strike": {
        "en": "{days}-day rail strike halts trains around {city} as {land} unions demand {pct2}%",
        "es": "Huelga ferroviaria de {days} días en {land}: paralizados los trenes en torno a {city}",
        "de": "{days} Tage Bahnstreik in {land}: Züge rund um {city} stehen still",
        "fr": "Grève du rail de {days} jours en {land} : les trains à l'arrêt autour de {city}",
        "pt": "Greve ferroviária de {days} dias para trens em torno de {city}, em {land}",
    },
    "takeover": {
        "en": "{target} of {land} to be sold to {firm} in ${bn} billion cash deal",
        "es": "{firm} se hace con la logística {target}, de {land}, por {bn} mil millones",
        "de": "Milliardendeal: {firm} kauft Logistiker {target} aus {city} für {bn} Milliarden Dollar",
        "fr": "{firm} met la main sur le logisticien {target} ({city}) pour {bn} milliards de dollars",
        "pt": "{firm} compra a {target}, de {city}, em negócio de US$ {bn} bilhões",
    },
}  # fmt: skip
# Company names: a stem and a second word, so two deals rarely name one firm by chance.
FIRM_TAILS = ["Group", "Holdings", "Capital", "Partners", "Industries", "Global", "Systems", "Brands"]
TARGET_TAILS = ["Logistics", "Freight", "Cargo", "Transport", "Shipping", "Logistik", "Express", "Lines"]
FIRMS = [
    "Halvorsen",
    "Meridian",
    "Castellan",
    "Norvik",
    "Aurelio",
    "Brightwater",
    "Kestrel",
    "Oberland",
    "Solenne",
    "Tamarind",
    "Vexa",
    "Zenthos",
]
TARGETS = [
    "Caldera",
    "Lumen",
    "Ostrava",
    "Pelican",
    "Quintal",
    "Rivanna",
    "Sarto",
    "Tessera",
    "Umbra",
    "Valdés",
    "Wexford",
    "Ysolde",
]


@dataclass(frozen=True)
class Item:
    feed: int  # -1: the drop inbox
    key: str
    language: str
    title: str
    lead: str
    event: int
    at: float  # seconds after the start of the steady phase it is published (cold items: 0)


@cache
def _places() -> list[tuple[dict[str, str], dict[str, str]]]:
    """(country name by language, city name by language) for every CLDR exemplar city of a country."""
    from babel import Locale
    from babel.core import get_global

    locales = {lang: Locale(lang) for lang in LANGS}
    out = []
    for zone, code in sorted(get_global("zone_territories").items()):
        if code in ("001", "ZZ") or code not in locales["en"].territories:
            continue
        fallback = zone.rsplit("/", 1)[-1].replace("_", " ")
        city = {lang: loc.time_zones.get(zone, {}).get("city") or fallback for lang, loc in locales.items()}
        out.append(({lang: loc.territories[code] for lang, loc in locales.items()}, city))
    return out


def _date(day: date, lang: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton("MMMMd", day, locale=lang)


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
        self.today = date(2026, 12, 6)

    def _event(self) -> dict:
        rng = self.rng
        self.events += 1
        land, city = rng.choice(_places())
        return {
            "id": self.events,
            "kind": rng.choice(list(TEMPLATES)),
            "land": land,
            "city": city,
            "mag": f"{rng.uniform(4.8, 7.9):.1f}",
            "n": rng.randint(12, 95),
            "rate": f"{rng.uniform(2.0, 14.0):.2f}",
            "infl": f"{rng.uniform(3.0, 12.0):.1f}",
            "ha": rng.randint(300, 25000),
            "pct": f"{rng.uniform(40.5, 68.0):.1f}",
            "pct2": rng.randint(11, 40),
            "days": rng.randint(2, 9),
            "bn": f"{rng.uniform(1.2, 48.0):.1f}",
            "firm": f"{rng.choice(FIRMS)} {rng.choice(FIRM_TAILS)}",
            "target": f"{rng.choice(TARGETS)} {rng.choice(TARGET_TAILS)}",
            "person": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "date": self.today - timedelta(days=rng.randrange(40)),
        }

    def _write(self, event: dict, lang: str, outlet: int) -> tuple[str, str]:
        """One outlet's report of the event: its own headline style and its own context sentences."""
        fill = dict(event, land=event["land"][lang], city=event["city"][lang], date=_date(event["date"], lang))
        title, lead = TEMPLATES[event["kind"]][lang]
        if random.Random(f"style-{outlet}").random() < 0.5:  # an outlet keeps its headline style
            title = TITLES_ALT[event["kind"]][lang]
        title, lead = title.format(**fill), lead.format(**fill)
        # What an outlet adds beyond the facts it shares with the others: its
        # own context (here two real sentences in its language, fixed per event
        # and outlet, so two outlets' reports of one event are not the same text).
        extra = self.padding.get(lang)
        if extra:
            pick = random.Random(f"{event['id']}-{outlet}-{lang}")
            lead = f"{lead} {pick.choice(extra)} {pick.choice(extra)}"
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
                title, lead = self._write(event, lang, feed)
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
                title, lead = self._write(event, self.feed_lang[feed], feed)
                items.append(Item(feed, f"s{len(items)}", self.feed_lang[feed], title, lead, event["id"], at))
                at += self.rng.expovariate(rate)
        return [i for i in items if i.at < seconds]
