"""Same-kind events worded alike: particulars that conflict keep them apart (issue #18).

Twenty rate decisions by twenty central banks, each reported by three outlets
in English, Spanish and Portuguese, in one house style per language: two
reports of two events share every word but their particulars (country, city,
governor, date, figures). That is how the whole-path bench's generated news
fell into a few stories, one per kind of event.
"""

from __future__ import annotations

from dataclasses import replace

from newsdesk.coverage.engine import Params, doc_assign, doc_build, doc_similarity
from newsdesk.coverage.evaluate import bcubed
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import text_features

BANKS = [
    # (English, Spanish, Portuguese country name, city, governor)
    ("Chile", "Chile", "Chile", "Santiago", "Ana Vargas"),
    ("Peru", "Perú", "Peru", "Lima", "Tomás Rojas"),
    ("Mexico", "México", "México", "Monterrey", "Lucía Ferreira"),
    ("Colombia", "Colombia", "Colômbia", "Bogotá", "Mateo Keller"),
    ("Brazil", "Brasil", "Brasil", "Brasília", "Sofia Moreau"),
    ("Argentina", "Argentina", "Argentina", "Córdoba", "Andreas Castillo"),
    ("Uruguay", "Uruguay", "Uruguai", "Montevideo", "Marta Papadakis"),
    ("Paraguay", "Paraguay", "Paraguai", "Asunción", "Jorge Yilmaz"),
    ("Bolivia", "Bolivia", "Bolívia", "La Paz", "Elena Tanaka"),
    ("Ecuador", "Ecuador", "Equador", "Guayaquil", "Kenji Silva"),
    ("Poland", "Polonia", "Polônia", "Warsaw", "Ingrid Okafor"),
    ("Hungary", "Hungría", "Hungria", "Budapest", "Pavel Lindqvist"),
    ("Turkey", "Turquía", "Turquia", "Istanbul", "Amara Novak"),
    ("Egypt", "Egipto", "Egito", "Cairo", "Luca Haddad"),
    ("Nigeria", "Nigeria", "Nigéria", "Lagos", "Nadia Mendes"),
    ("Kenya", "Kenia", "Quênia", "Nairobi", "Omar Brunner"),
    ("India", "India", "Índia", "Mumbai", "Carmen Dubois"),
    ("Indonesia", "Indonesia", "Indonésia", "Jakarta", "Henrik Kowalski"),
    ("Philippines", "Filipinas", "Filipinas", "Manila", "Yuki Sato"),
    ("Ghana", "Ghana", "Gana", "Accra", "Fatima Ortega"),
]
MONTH = {"en": "November", "es": "noviembre", "pt": "novembro"}


def _reports(n: int) -> list[tuple[str, str, str]]:
    """(language, title, lead) of the three outlets' reports of the n-th rate decision."""
    en, es, pt, city, person = BANKS[n]
    rate, inflation, day = f"{4.25 + n * 0.37:.2f}", f"{5.1 + n * 0.29:.1f}", 2 + n
    return [
        (
            "en",
            f"{en}'s central bank raises rates to {rate}% as inflation persists",
            f"The central bank of {en} raised its benchmark interest rate to {rate}% on {MONTH['en']} {day}, "
            f"saying inflation of {inflation}% remained well above target, governor {person} told reporters "
            f"in {city}.",
        ),
        (
            "es",
            f"El banco central de {es} sube los tipos al {rate}% ante la inflación",
            f"El banco central de {es} elevó el {day} de {MONTH['es']} su tasa de referencia al {rate}%, al "
            f"considerar que la inflación del {inflation}% sigue muy por encima del objetivo, dijo su "
            f"presidente, {person}, en {city}.",
        ),
        (
            "pt",
            f"Banco central de {pt} eleva juros para {rate}%",
            f"O banco central de {pt} elevou em {day} de {MONTH['pt']} a taxa básica de juros para {rate}%, "
            f"afirmando que a inflação de {inflation}% continua muito acima da meta, disse o presidente "
            f"{person} em {city}.",
        ),
    ]


def _stream(params: Params) -> tuple[dict[int, int], dict[int, str]]:
    """Every report streamed through the assignment, one event after another, as they arrive."""
    store = MemoryStore(centroid_terms=params.centroid_terms)
    predicted: dict[int, int] = {}
    gold: dict[int, str] = {}
    key = 0
    for n in range(len(BANKS)):
        for _, title, lead in _reports(n):
            key += 1
            features = text_features(title=title, body=lead, grams=False)
            doc_assign(doc_key=key, at=n * 3600.0, features=features, store=store, params=params)
            gold[key] = str(n)
    for k in gold:
        predicted[k] = store.story_of(k) or 0
    return predicted, gold


def test_twenty_same_kind_events_in_different_places_never_share_a_story():
    predicted, gold = _stream(Params())
    by_story: dict[int, set[str]] = {}
    for k, story in predicted.items():
        by_story.setdefault(story, set()).add(gold[k])
    assert all(len(events) == 1 for events in by_story.values()), sorted(by_story.values(), key=len)[-1]
    # One event's reports in one language share a story: here each language
    # has one report an event, so recall counts the cross-language grouping.
    precision, recall, _ = bcubed(predicted=predicted, gold=gold)
    assert precision == 1.0
    assert recall > 0.6, recall


def test_without_the_many_kinds_conflict_the_same_stream_glues_events():
    """The test above would break without the fix: the shipped rule off, events share stories."""
    predicted, gold = _stream(replace(Params(), conflict_many=0.0))
    precision, _, _ = bcubed(predicted=predicted, gold=gold)
    assert precision < 0.8, precision


def _doc(key: int, title: str, lead: str, store: MemoryStore, params: Params):
    return doc_build(key=key, at=0.0, features=text_features(title=title, body=lead, grams=False), store=store,
                     params=params)  # fmt: skip


def test_one_event_across_languages_scores_above_two_events_in_one_language():
    """Pair scores with the document frequencies of a running index (all reports stored)."""
    params = Params()
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for n in range(len(BANKS)):
        for i, (_, title, lead) in enumerate(_reports(n)):
            features = text_features(title=title, body=lead, grams=False)
            doc_assign(doc_key=100 + 3 * n + i, at=0.0, features=features, store=store, params=params)
    first, second = _reports(0), _reports(1)
    en_a, es_a, pt_a = (_doc(i, t, lead, store, params) for i, (_, t, lead) in enumerate(first))
    en_b, es_b = (_doc(10 + i, t, lead, store, params) for i, (_, t, lead) in enumerate(second[:2]))
    same_event = [doc_similarity(en_a, es_a, params=params), doc_similarity(es_a, pt_a, params=params)]
    two_events = [doc_similarity(en_a, en_b, params=params), doc_similarity(es_a, es_b, params=params)]
    assert min(same_event) >= params.join_threshold, same_event
    assert max(two_events) < params.join_threshold, two_events
    assert min(same_event) > max(two_events)
