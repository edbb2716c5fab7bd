"""The demo inbox: a morning's news from several outlets, as their own systems would drop it.

``load_demo`` writes these into the demo drop inbox, dated relative to the
moment it runs, and the real drop pipeline takes them from there (parse,
store, detect language, translate, group). The outlets are invented; the
stories are written as such outlets write, each in its own language and
words, and nothing here is tuned to the matcher:

- an earthquake in northern Chile, reported in Spanish, English and Portuguese;
- two central-bank decisions of the same kind (Mexico cuts, Brazil holds),
  each reported in two languages, which must stay two stories;
- the seed card (El Financiero's own English version, declared ES) and a
  French report of the same minerals meeting;
- a German regional story no other outlet covers.

Formats vary as they do in a real inbox: dashboard cards, a JSON array, NDJSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DemoItem:
    outlet: str
    country: str  # ISO code
    language: str
    hours_ago: float
    title: str
    summary: str
    body: str = ""
    category: str = ""


QUAKE = [
    DemoItem(
        "La Voz del Norte",
        "CL",
        "es",
        5.2,
        "Sismo de magnitud 6,8 sacude Antofagasta; no se reportan víctimas",
        "Un sismo de magnitud 6,8 se registró a las 04:12 hora local a 45 kilómetros al noreste de "
        "Antofagasta, informó el Centro Sismológico Nacional. El Senapred descartó riesgo de tsunami "
        "para las costas de Chile.",
        "El movimiento se percibió con fuerza en Calama, Mejillones y Tocopilla, donde vecinos salieron "
        "a las calles. La empresa eléctrica informó cortes parciales de suministro que se normalizaron "
        "durante la mañana.\n\nLas faenas mineras de la zona suspendieron turnos de forma preventiva "
        "mientras se revisan instalaciones, según la Asociación de Industriales de Antofagasta.",
        "Nacional",
    ),
    DemoItem(
        "Pacific Wire",
        "US",
        "en",
        4.6,
        "Magnitude 6.8 earthquake strikes northern Chile, no tsunami threat",
        "A magnitude 6.8 earthquake struck near the Chilean port city of Antofagasta early on Saturday, "
        "the U.S. Geological Survey said, shaking buildings across the copper-mining region. There were "
        "no immediate reports of casualties.",
        "Chile's disaster agency Senapred said the quake did not meet the conditions to generate a "
        "tsunami on the coast. Some mines in the region paused operations to inspect equipment.",
        "World",
    ),
    DemoItem(
        "Jornal do Sul",
        "BR",
        "pt",
        3.9,
        "Terremoto de magnitude 6,8 atinge o norte do Chile",
        "Um terremoto de magnitude 6,8 atingiu a região de Antofagasta, no norte do Chile, na madrugada "
        "deste sábado, segundo o Serviço Geológico dos Estados Unidos (USGS). Não há registro de "
        "vítimas, e as autoridades chilenas descartaram alerta de tsunami.",
        "O tremor foi sentido em cidades como Calama e Tocopilla. Mineradoras da região, a maior "
        "produtora de cobre do mundo, interromperam turnos para vistorias.",
        "Mundo",
    ),
]

BANXICO = [
    DemoItem(
        "El Observador Financiero",
        "MX",
        "es",
        20.0,
        "Banxico recorta la tasa de interés a 7,00% y anticipa una pausa",
        "La Junta de Gobierno del Banco de México redujo su tasa de referencia en 25 puntos base, a 7,00%, "
        "con el voto en contra de un subgobernador. El banco central señaló que evaluará una pausa en el "
        "ciclo de recortes ante la persistencia de la inflación subyacente.",
        "Es el duodécimo recorte consecutivo desde marzo de 2024. Analistas consultados esperan que la "
        "tasa cierre el año sin cambios.",
        "Economía",
    ),
    DemoItem(
        "Atlantic Business Daily",
        "GB",
        "en",
        19.5,
        "Mexico's central bank cuts rate to 7% and signals a pause",
        "Banco de Mexico lowered its benchmark interest rate by 25 basis points to 7.00% on Thursday in a "
        "split 4-1 decision, and said it would consider pausing its easing cycle as core inflation "
        "remains sticky.",
        "The peso was little changed after the announcement.",
        "Markets",
    ),
]

COPOM = [
    DemoItem(
        "Gazeta Econômica",
        "BR",
        "pt",
        27.0,
        "Copom mantém Selic em 15% pela quarta reunião seguida",
        "O Comitê de Política Monetária (Copom) do Banco Central manteve a taxa básica de juros em 15% ao "
        "ano, em decisão unânime. O colegiado afirmou que a inflação de serviços segue elevada e que não "
        "hesitará em retomar o ciclo de alta se julgar apropriado.",
        "A decisão veio em linha com a expectativa do mercado.",
        "Economia",
    ),
    DemoItem(
        "Atlantic Business Daily",
        "GB",
        "en",
        26.5,
        "Brazil holds Selic at 15% as services inflation stays high",
        "Brazil's central bank kept its benchmark Selic rate at 15% for a fourth straight meeting on "
        "Wednesday in a unanimous decision, saying services inflation remained elevated.",
        "Policymakers repeated that they would not hesitate to resume tightening if needed.",
        "Markets",
    ),
]

MINERALS_FR = DemoItem(
    "Le Courrier International",
    "FR",
    "fr",
    1.5,
    "Minerais critiques : le Mexique et le Canada rejoignent les discussions sur un cadre commun",
    "Les délégations mexicaine et canadienne ont annoncé lundi leur participation aux négociations sur "
    "un cadre commun pour les chaînes d'approvisionnement en minerais critiques, comme le lithium et les "
    "terres rares.",
    "",
    "International",
)

RAIL_DE = DemoItem(
    "Rheinische Rundschau",
    "DE",
    "de",
    2.4,
    "Warnstreik legt Regionalverkehr in Nordrhein-Westfalen weitgehend lahm",
    "Wegen eines Warnstreiks der Eisenbahnergewerkschaft fallen in Nordrhein-Westfalen seit dem frühen "
    "Morgen zahlreiche Regionalzüge aus. Pendler müssen auf Busse und Fahrgemeinschaften ausweichen.",
    "Der Streik soll bis Mitternacht dauern.",
    "Region",
)


def _card(*, item: DemoItem, at: datetime, flag: str, country_name: str, paragraphs: list[str]) -> str:
    header = f"{at:%b} {at.day} • {at:%H:%M} UTC {flag} {country_name} {item.outlet} ({item.language.upper()})"
    return "\n\n".join([header, item.title, *paragraphs, "📡 Similar Coverage"]) + "\n"


def _json_item(item: DemoItem, at: datetime) -> dict:
    return {
        "title": item.title,
        "summary": item.summary,
        "body": "\n\n".join(p for p in (item.summary, item.body) if p),
        "published": at.isoformat().replace("+00:00", "Z"),
        "language": item.language,
        "country": item.country,
        "source": item.outlet,
        "category": item.category,
        "guid": f"demo:{item.outlet}:{item.title}",
    }


def demo_files(*, now: datetime) -> dict[str, str]:
    """File name -> content, dated relative to ``now`` (UTC)."""

    def at(item: DemoItem) -> datetime:
        return (now - timedelta(hours=item.hours_ago)).replace(second=0, microsecond=0)

    seed = DemoItem(
        "El Financiero", "MX", "es", 0.5, "Mexico and Canada join talks on a critical minerals framework", ""
    )
    observador = BANXICO[0]
    files = {
        # The seed card's shape: the outlet's own English version, declared ES.
        "001-el-financiero.txt": _card(
            item=seed,
            at=at(seed),
            flag="🇲🇽",
            country_name="Mexico",
            paragraphs=[
                "Delegations from Mexico and Canada said on Monday they would take part in talks on a shared "
                "framework for critical minerals supply chains.",
                "Officials described the meeting as a first step toward common rules for lithium and rare "
                "earth projects.",
            ],
        ),
        "002-el-observador-financiero.txt": _card(
            item=observador,
            at=at(observador),
            flag="🇲🇽",
            country_name="Mexico",
            paragraphs=[observador.summary, observador.body],
        ),
        "003-la-voz-del-norte.json": json.dumps([_json_item(QUAKE[0], at(QUAKE[0]))], ensure_ascii=False, indent=1),
        "004-pacific-wire.ndjson": json.dumps(_json_item(QUAKE[1], at(QUAKE[1])), ensure_ascii=False) + "\n",
        "005-jornal-do-sul.json": json.dumps(_json_item(QUAKE[2], at(QUAKE[2])), ensure_ascii=False, indent=1),
        "006-atlantic-business-daily.ndjson": "".join(
            json.dumps(_json_item(item, at(item)), ensure_ascii=False) + "\n" for item in (BANXICO[1], COPOM[1])
        ),
        "007-gazeta-economica.json": json.dumps([_json_item(COPOM[0], at(COPOM[0]))], ensure_ascii=False, indent=1),
        "008-le-courrier-international.json": json.dumps(
            _json_item(MINERALS_FR, at(MINERALS_FR)), ensure_ascii=False, indent=1
        ),
        "009-rheinische-rundschau.json": json.dumps(_json_item(RAIL_DE, at(RAIL_DE)), ensure_ascii=False, indent=1),
    }
    return files
