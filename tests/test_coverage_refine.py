"""Telling same-kind events apart (particulars) and the refinement pass behind the stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction

from newsdesk import changes
from newsdesk.coverage.cluster import article_assign_story, coverage_params
from newsdesk.coverage.dbrefine import stories_refine_recent
from newsdesk.coverage.engine import Params, doc_assign, doc_similarity
from newsdesk.coverage.evaluate import Item, items_cluster
from newsdesk.coverage.links import links_build
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.particulars import PLACE, text_particulars
from newsdesk.coverage.refine import OwnCore, RefineParams, stories_refine
from newsdesk.coverage.text import text_features
from newsdesk.models import Article, Source, Story, TranslationStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()

# Two earthquakes: same kind of event, different place, magnitude, toll and day.
CHILE_EN = [
    (
        "Magnitude 7.1 earthquake strikes northern Chile near Antofagasta",
        "The quake hit on 12 March 2025; 38 people died.",
    ),
    ("Chile earthquake: 7.1 tremor kills 38 near Antofagasta", "Rescuers in Chile searched rubble on March 12, 2025."),
    (
        "Strong 7.1 quake in Chile leaves 38 dead, Antofagasta damaged",
        "Chile's president visited Antofagasta on 12 March.",
    ),
]
JAPAN_EN = [
    ("Magnitude 6.4 earthquake strikes Japan near Osaka", "The quake hit on 3 June 2024; 12 people died."),
    ("Japan earthquake: 6.4 tremor kills 12 near Osaka", "Rescuers in Japan searched rubble on June 3, 2024."),
    ("Strong 6.4 quake in Japan leaves 12 dead, Osaka damaged", "Japan's prime minister visited Osaka on 3 June."),
]
CHILE_ES = [
    (
        "Sismo de magnitud 7,1 sacude el norte de Chile cerca de Antofagasta",
        "El terremoto ocurrió el 12 de marzo de 2025; murieron 38 personas.",
    ),
    (
        "Terremoto en Chile: sismo de 7,1 deja 38 muertos en Antofagasta",
        "Los rescatistas buscaron entre los escombros el 12 de marzo de 2025.",
    ),
    (
        "Fuerte sismo de 7,1 en Chile deja 38 muertos, daños en Antofagasta",
        "El presidente de Chile visitó Antofagasta el 12 de marzo.",
    ),
]
JAPAN_ES = [
    ("Sismo de magnitud 6,4 sacude Japón cerca de Osaka", "El terremoto ocurrió el 3 de junio de 2024; murieron 12 personas."),
    ("Terremoto en Japón: sismo de 6,4 deja 12 muertos en Osaka", "Los rescatistas buscaron entre los escombros el 3 de junio de 2024."),
    ("Fuerte sismo de 6,4 en Japón deja 12 muertos, daños en Osaka", "El primer ministro de Japón visitó Osaka el 3 de junio."),
]  # fmt: skip


def _items(*events: list[tuple[str, str]], interleave: bool = True) -> list[Item]:
    """Articles of each event, interleaved (outlets report both at once), a minute apart."""
    rows: list[tuple[str, str, str]] = []
    if interleave:
        for n in range(max(len(e) for e in events)):
            rows += [(*e[n], str(k)) for k, e in enumerate(events) if n < len(e)]
    else:
        rows = [(*a, str(k)) for k, e in enumerate(events) for a in e]
    return [Item(key=n, at=T0 + 60 * n, title=t, body=b, cluster=label) for n, (t, b, label) in enumerate(rows, 1)]


def _stories_by_event(items: list[Item], predicted: dict[int, int]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for item in items:
        out.setdefault(item.cluster, set()).add(predicted[item.key])
    return out


@pytest.mark.parametrize(
    "first,second",
    [(CHILE_EN, JAPAN_EN), (CHILE_ES, JAPAN_ES), (CHILE_ES, JAPAN_EN), (CHILE_EN, JAPAN_ES)],
    ids=["english", "spanish", "spanish-chile-english-japan", "english-chile-spanish-japan"],
)
def test_two_earthquakes_never_share_a_story(first, second):
    """Same kind, different place, figures and dates: streamed and refined, they stay apart."""
    items = _items(first, second)
    predicted = items_cluster(items, params=Params(), refine=RefineParams(every_articles=2))
    stories = _stories_by_event(items, predicted)
    assert stories["0"].isdisjoint(stories["1"])


@pytest.mark.parametrize("event", [CHILE_EN, CHILE_ES, JAPAN_EN], ids=["english", "spanish", "english-2"])
def test_one_earthquake_reported_three_times_is_one_story(event):
    items = _items(event)
    predicted = items_cluster(items, params=Params(), refine=RefineParams(every_articles=2))
    assert len(set(predicted.values())) == 1


def test_the_first_run_s_wrong_merge_does_not_happen():
    """The issue's case: critical-minerals talks in Mexico and Canada are not Argentina's lithium rules."""
    items = [
        Item(key=1, at=T0, cluster="ar", title="Argentina analiza nuevas reglas para la minería de litio",
             body="El gobierno argentino estudia un marco para la minería de litio, un mineral crítico."),
        Item(key=2, at=T0 + 60, cluster="mx", title="México y Canadá se suman a las conversaciones sobre un marco de minerales críticos",
             body="Ciudad de México y Ottawa participarán en las conversaciones sobre minerales críticos como el litio."),
    ]  # fmt: skip
    predicted = items_cluster(items, params=Params(), refine=RefineParams(every_articles=1))
    assert predicted[1] != predicted[2]


@pytest.mark.parametrize(
    "title,country",
    [
        ("Землетрясение в Мексике", "MX"),  # Russian prepositional case
        ("Выборы в Японии", "JP"),
        ("Frankreichs Präsident reist ab", "FR"),  # German genitive
        ("Kanadas Regierung plant neue Regeln", "CA"),
        ("Presidente do Brasil visita a Argentina", "BR"),  # as CLDR writes them: still found
    ],
)
def test_inflected_place_names_are_recognised(title, country):
    assert PLACE + country in text_particulars(title=title, body="")


def test_an_inflection_never_makes_a_place_of_an_ordinary_name():
    for title in ("Reggie Bush signs with the Saints", "Lindsay Lohan checks into rehab", "Tara Reid, Promises"):
        assert not any(p.startswith(PLACE) for p in text_particulars(title=title, body=""))


def test_particulars_read_places_dates_and_figures_in_any_language():
    es = text_particulars(title="Sismo en Ciudad de México", body="El 14 de diciembre de 2025 murieron 1.500 personas.")
    en = text_particulars(title="Quake in Mexico City", body="On December 14, 2025, 1,500 people died.")
    ru = text_particulars(title="Мексика: землетрясение", body="14 декабря 2025 года погибли 1500 человек.")
    zh = text_particulars(title="墨西哥发生地震", body="")
    for got in (es, en):
        assert {"p:MX", "d:12-14", "y:2025", "n:1500"} <= got
    assert {"p:MX", "y:2025", "n:1500"} <= ru
    assert "p:MX" in zh
    # A decimal stays a decimal; a lower-case common word is not a place.
    assert "n:6.1" in text_particulars(title="A 6.1 quake", body="")
    assert not any(p.startswith("p:") for p in text_particulars(title="we turkey and chad", body=""))


def test_conflicting_particulars_push_apart_and_shared_ones_do_not():
    params = Params()
    store = MemoryStore()

    def doc(key: int, title: str, body: str):
        features = text_features(title=title, body=body)
        store.df_add(list(features.terms))
        from newsdesk.coverage.engine import doc_build

        return doc_build(key=key, at=T0, features=features, store=store, params=params)

    a = doc(1, "Earthquake strikes Chile", "The quake hit Chile in 2025.")
    b = doc(2, "Earthquake strikes Chile", "The quake hit Chile in 2025.")
    c = doc(3, "Earthquake strikes Japan", "The quake hit Japan in 2024.")
    plain = Params(conflict_place=0, conflict_year=0, conflict_number=0, conflict_names=0)
    assert doc_similarity(a, c, params=params) < doc_similarity(a, c, params=plain)
    assert doc_similarity(a, b, params=params) == pytest.approx(doc_similarity(a, b, params=plain))


def _glued_store(*events: list[tuple[str, str]]) -> tuple[MemoryStore, list[Item]]:
    """The events' articles streamed, then forced into the first article's story (as a bad stream order would)."""
    items = _items(*events)
    store = MemoryStore()
    for item in items:
        doc_assign(doc_key=item.key, at=item.at, features=text_features(title=item.title, body=item.body),
                   store=store, params=Params())  # fmt: skip
    first = store.story_of(items[0].key)
    store.stories_apply(moves={i.key: first for i in items if store.story_of(i.key) != first})
    return store, items


def test_refinement_splits_a_story_the_stream_glued_together():
    store, items = _glued_store(CHILE_EN, JAPAN_EN)
    glued = store.story_of(items[0].key)
    assert {store.story_of(i.key) for i in items} == {glued}
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    assert result.changed and glued in result.split
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert stories["0"].isdisjoint(stories["1"])
    assert len(stories["0"]) == len(stories["1"]) == 1
    # The part holding the story's first article keeps the story's id.
    assert stories["0"] == {glued}
    # What ties each moved article to its new story names a member of that story.
    for key in result.moves:
        score, why = store.moved_why[key]
        assert store.story_of(why["matched_article"]) == store.story_of(key)
        assert score == pytest.approx(why["score"], abs=1e-4) and score > 0.4
    again = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    assert not again.changed  # idempotent


def test_refinement_leaves_a_coherent_story_and_its_id_untouched():
    store, items = _glued_store(CHILE_EN)
    story = store.story_of(items[0].key)
    result = stories_refine(docs=store.all_docs(), params=Params())
    assert not result.changed
    assert {store.story_of(i.key) for i in items} == {story}


def test_refinement_merges_fragments_of_one_event():
    items = _items(CHILE_EN)
    store = MemoryStore()
    for item in items:
        doc_assign(doc_key=item.key, at=item.at, features=text_features(title=item.title, body=item.body),
                   store=store, params=Params())  # fmt: skip
    # A bad order: the last report started a story of its own.
    split_off = store.stories_apply(moves={items[-1].key: -1})[-1]
    assert store.story_of(items[-1].key) == split_off
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    assert result.merged == {split_off: store.story_of(items[0].key)}
    assert len({store.story_of(i.key) for i in items}) == 1


def test_refinement_respects_editors_links():
    store, items = _glued_store(CHILE_EN, JAPAN_EN)
    chile = [i.key for i in items if i.cluster == "0"]
    japan = [i.key for i in items if i.cluster == "1"]
    # An editor said one Japan report belongs with Chile's, and two Chile reports are not one story.
    links = links_build(must=[(chile[0], japan[0])], cannot=[(chile[1], chile[2])])
    result = stories_refine(docs=store.all_docs(), params=Params(), links=links)
    store.stories_apply(moves=result.moves)
    assert store.story_of(chile[0]) == store.story_of(japan[0])
    assert store.story_of(chile[1]) != store.story_of(chile[2])


# --- on the database, as beat runs it ---------------------------------------------------------


def _article(title: str, summary: str, at: datetime) -> Article:
    source = Source.objects.create(name=f"Outlet {title[:20]}", country="GB", language="en")
    return Article.objects.create(
        source=source, dedupe_key=title, url=f"https://example.org/{abs(hash(title))}", title_orig=title,
        summary_orig=summary, title_en=title, summary_en=summary, language="en", country="GB",
        translation_status=TranslationStatus.NOT_NEEDED, published_at=at,
    )  # fmt: skip


def _version() -> int | None:
    return cache.get(changes.VERSION_KEY)


@pytest.mark.django_db(transaction=True)
def test_beat_pass_splits_a_glued_story_then_changes_nothing():
    now = datetime.now(tz=UTC)
    chile = [_article(t, s, now - timedelta(minutes=30 - n)) for n, (t, s) in enumerate(CHILE_EN)]
    japan = [_article(t, s, now - timedelta(minutes=20 - n)) for n, (t, s) in enumerate(JAPAN_EN)]
    for article in [*chile, *japan]:
        article_assign_story(article=article, params=coverage_params())
    glued = Article.objects.get(pk=chile[0].pk).story_id
    with transaction.atomic():  # the stream's mistake, and the index's summed vector, as assignment left them
        # The stream's "why" of a glued member named the other event's article.
        wrong = {"score": 0.5, "shared_terms": ["earthq"], "shared_names": [], "matched_article": chile[0].pk}
        Article.objects.filter(pk__in=[a.pk for a in japan]).update(
            story_id=glued, story_score=0.5, story_evidence=wrong
        )
        from newsdesk.coverage.decisions import stories_reindex

        stories_reindex([glued])

    stats = stories_refine_recent()
    assert stats.moved == 3 and stats.created == 1
    rows = dict(Article.objects.values_list("id", "story_id"))
    assert {rows[a.pk] for a in chile} == {glued}
    japan_story = {rows[a.pk] for a in japan}
    assert len(japan_story) == 1 and glued not in japan_story
    assert Story.objects.get(pk=glued).article_count == 3
    # Each moved member's "why" is recomputed: it names a member of its new story, with their score.
    for article in Article.objects.filter(pk__in=[a.pk for a in japan]):
        assert article.story_evidence["matched_article"] in {a.pk for a in japan} - {article.pk}
        assert article.story_score == pytest.approx(article.story_evidence["score"], abs=1e-4)
        assert 0.4 <= article.story_score <= 1.0
        assert "osaka" in article.story_evidence["shared_names"]

    changes.articles_changed()
    before = _version()
    again = stories_refine_recent()
    assert again.moved == 0
    assert _version() == before  # a pass that changes nothing bumps nothing
    assert dict(Article.objects.values_list("id", "story_id")) == rows


# Two events of one kind whose reports share the topic's words and even its place: what tells
# them apart is who (names each event's reports hold and the other's do not).
_REHAB = "checked into a rehab treatment centre in California on Monday, a representative told People magazine after a difficult year"
REID = [
    ("Tara Reid checks into rehab at Promises", f"Actress Tara Reid {_REHAB}."),
    ("Tara Reid enters Promises rehab", f"The actress Tara Reid {_REHAB}, at Promises."),
    ("Actress Tara Reid in rehab", f"Tara Reid {_REHAB} (Promises)."),
    ("Tara Reid goes to rehab", f"Tara Reid, the actress, {_REHAB}; Promises confirmed it."),
    ("Rehab for Tara Reid at Promises", f"Actress Reid {_REHAB}."),
]
LOHAN = [
    tuple(x.replace("Tara Reid", "Lindsay Lohan").replace("Reid", "Lohan").replace("Promises", "Betty Ford") for x in row)
    for row in REID
]  # fmt: skip


def test_two_same_kind_events_are_split_by_the_names_each_holds_alone():
    store, items = _glued_store(REID, LOHAN)
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert len(stories["0"]) == len(stories["1"]) == 1 and stories["0"].isdisjoint(stories["1"])
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    # Without the split by the groups' own cores, the same glued story stays whole: the words
    # alone do not set these two apart.
    store, items = _glued_store(REID, LOHAN)
    plain = RefineParams(split_by_core=False, split_ratio_exclusive=0.0)
    store.window_refine(now=items[-1].at, params=Params(), refine=plain)
    assert len({store.story_of(i.key) for i in items}) == 1
    assert result.split


def test_one_event_whose_reports_differ_in_one_name_is_not_split():
    """Half the reports also name her lawyer: names only one side holds are not two events."""
    event = [
        (t, b.replace("a representative", "her lawyer Shawn Holley") if n % 2 else b)
        for n, (t, b) in enumerate(REID * 2)
    ]
    store, items = _glued_store(event)
    before = {i.key: store.story_of(i.key) for i in items}
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    assert {i.key: store.story_of(i.key) for i in items} == before


def test_pieces_that_each_hold_a_core_of_their_own_do_not_merge():
    """Streamed apart, the two events stay apart however low the merge bar."""
    items = _items(REID, LOHAN)
    predicted = items_cluster(items, params=Params(), refine=RefineParams(every_articles=2, merge_threshold=0.05))
    stories = _stories_by_event(items, predicted)
    assert stories["0"].isdisjoint(stories["1"])


# Two castings of one role, years apart: the later one's reports name its year, its actor and
# the date; the earlier one's say nothing their rival's do not (the role, the series, the actor
# being cast, whom the later reports name too). Only one side holds a core of its own.
_ROLE = "will take over the title role of Doctor Who, the long-running BBC science fiction series"
SMITH = [
    ("Matt Smith named the new Doctor Who", f"The BBC said the actor Matt Smith {_ROLE}."),
    ("Matt Smith is the new Doctor", f"Actor Matt Smith {_ROLE}, the BBC said."),
    ("BBC names Matt Smith as Doctor Who", f"Matt Smith, the actor, {_ROLE}."),
    ("Doctor Who: Matt Smith cast", f"The BBC announced that Matt Smith {_ROLE}."),
    ("Actor Matt Smith to play the Doctor", f"Matt Smith {_ROLE}, the broadcaster said."),
]
_DATED = (
    "Peter Capaldi, the Glasgow-born star of The Thick of It, {} and replace Matt Smith, the BBC said on 4 August 2013."
)
CAPALDI = [
    ("Peter Capaldi named the new Doctor Who", _DATED.format(_ROLE)),
    ("Peter Capaldi is the new Doctor", _DATED.format(_ROLE)),
    ("BBC names Peter Capaldi as Doctor Who", _DATED.format(_ROLE)),
    ("Doctor Who: Peter Capaldi cast", _DATED.format(_ROLE)),
    ("Actor Peter Capaldi to play the Doctor", _DATED.format(_ROLE)),
]


def _split_by_default_whole_without(first, second, without: RefineParams) -> None:
    """The glued story of ``first`` and ``second`` splits into the two events with the defaults
    (and a second pass changes nothing); with ``without`` instead it stays whole."""
    store, items = _glued_store(first, second)
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert len(stories["0"]) == len(stories["1"]) == 1 and stories["0"].isdisjoint(stories["1"])
    assert result.split
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    store, items = _glued_store(first, second)
    store.window_refine(now=items[-1].at, params=Params(), refine=without)
    assert len({store.story_of(i.key) for i in items}) == 1


def test_a_dated_group_with_names_of_its_own_is_another_occurrence():
    """One group names a year, an actor and a date the other never names: two castings, split."""
    # Without the dated core, the same glued story stays whole: neither the words nor the old
    # rule (both groups need a core of their own) set them apart.
    _split_by_default_whole_without(SMITH, CAPALDI, RefineParams(own_core=OwnCore(dated=0)))


def test_an_angle_whose_year_few_of_its_reports_name_is_not_split():
    """Half the reports also name her lawyer, the clinic's town and the year in passing: an angle of one event."""
    event = [
        (t, b + (" Her lawyer Shawn Holley said in Rancho Mirage she had a hard 2012." if n % 4 == 1 else
                 " Her lawyer Shawn Holley said in Rancho Mirage she was well." if n % 2 else ""))
        for n, (t, b) in enumerate(REID * 2)
    ]  # fmt: skip
    store, items = _glued_store(event)
    before = {i.key: store.story_of(i.key) for i in items}
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    assert {i.key: store.story_of(i.key) for i in items} == before


# Two emergency fixes for one browser, years apart. The later fix's reports date themselves (the
# year and the month: a dateline) and hold nothing else of their own (no name the earlier reports
# lack); the earlier fix's reports say no year at all. Without publication times (an archive, a
# labelled corpus) the text alone has to tell them apart.
_PATCH = (
    "Corvane released an emergency fix for a flaw in its Lumen web browser that attackers used to take over computers"
)
EARLY_FIX = [
    ("Corvane patches Lumen browser flaw", f"{_PATCH}, the company said on Wednesday."),
    ("Corvane rushes out Lumen browser fix", f"On Wednesday {_PATCH}."),
    ("Emergency Lumen patch from Corvane", f"{_PATCH}; users should install it at once."),
    ("Corvane fixes Lumen zero-day bug", f"{_PATCH}, security researchers said."),
    ("Lumen users told to update as Corvane patches flaw", f"{_PATCH}, a spokesman said on Wednesday."),
]
LATE_FIX = [
    ("Corvane issues fix for Lumen zero-day", "Corvane said on 17 September 2031 that it pushed out a temporary fix "
     "for a memory bug in every version of its Lumen web browser after hackers exploited it in targeted attacks."),
    ("Corvane ships Lumen workaround", "Published on 18 September 2031: Corvane pushed out a temporary fix for a "
     "memory bug in its Lumen web browser that hackers exploited in targeted attacks."),
    ("Lumen zero-day fixed by Corvane", "Updated 18 September 2031, 09:12 GMT: hackers exploited a memory bug in "
     "every version of the Lumen web browser, and Corvane pushed out a temporary fix."),
    ("Corvane rushes fix for Lumen attacks", "On 18 September 2031 Corvane pushed out a temporary fix for a memory "
     "bug in its Lumen web browser exploited in targeted attacks."),
    ("Corvane: Lumen flaw affects every version", "Corvane said in September 2031 that hackers exploited a memory "
     "bug in every version of its Lumen web browser, and pushed out a temporary fix."),
]  # fmt: skip


def test_a_group_dated_to_a_month_and_year_the_other_never_names_is_another_occurrence():
    """One group names a year and a month the other never names, and links to it less than each holds together."""
    # Without ``dated_month``, a year and a month are two keys of its own, short of the five a dated
    # core needs otherwise: the same glued story stays whole.
    _split_by_default_whole_without(EARLY_FIX, LATE_FIX, RefineParams(own_core=OwnCore(dated_month=False)))


def test_one_event_whose_datelined_reports_name_its_year_and_month_is_not_split():
    """Half the reports of one fix carry a dateline (year and month) the others lack: one event, one story."""
    event = [
        (t, (f"Updated on {17 + n % 4} September 2031: " if n % 2 else "") + b)
        for n, (t, b) in enumerate(EARLY_FIX * 2)
    ]
    store, items = _glued_store(event)
    before = {i.key: store.story_of(i.key) for i in items}
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    assert {i.key: store.story_of(i.key) for i in items} == before
    # The datelined half holds a dated core of its own all the same: what keeps the story whole is
    # that it links to the other half as well as each half holds together (the ratio's bar).
    loose = RefineParams(split_ratio_dated=1.05)
    assert store.window_refine(now=items[-1].at, params=Params(), refine=loose).changed


# One election, two kinds of report: wire copy with the president, the region, the agency and
# the hour; local copy with another agency. The words each kind holds alone are the window's
# common vocabulary: eighteen other stories of the region use them too.
_VOTE = "Turkmenistan voted in a parliamentary election on Sunday, with turnout said to be high in Ashgabat"
WIRE = [
    (
        f"Turkmenistan votes ({n})",
        f"{_VOTE}. The Central Asian state's President praised it, Reuters reported at 1200 GMT.",
    )
    for n in range(5)
]
LOCAL = [
    (
        f"Turkmens cast ballots ({n})",
        f"{_VOTE}. Polls closed at 1900 local time, the Interfax agency said, citing Tass.",
    )
    for n in range(5)
]
REGION = [
    (f"{w} opens gas pipeline ({n})", f"The President of {w} opened a gas pipeline to China near the border, with "
     f"Central Asian energy ministers attending; Reuters reported it at 0900 GMT and Interfax, citing Tass, said "
     f"exports start in {w} next year.")
    for n, w in enumerate(("Kazakhstan", "Uzbekistan", "Kyrgyzstan", "Tajikistan", "Mongolia", "Azerbaijan") * 3)
]  # fmt: skip


def test_words_the_whole_window_uses_are_no_core_of_ones_own():
    """Two kinds of report of one event, each with words the other lacks that many other stories use: one story."""
    for local, stories in ((OwnCore().local, 1), (0.0, 2)):
        store, items = _glued_store(WIRE, LOCAL)
        for n, (title, body) in enumerate(REGION, 1):
            doc_assign(doc_key=1000 + n, at=items[-1].at + n, features=text_features(title=title, body=body),
                       store=store, params=Params())  # fmt: skip
        refine = RefineParams(own_core=OwnCore(local=local))
        store.window_refine(now=items[-1].at + 60, params=Params(), refine=refine)
        # With the words counted wherever else the window holds them, the two kinds split.
        assert len({store.story_of(i.key) for i in items}) == stories, local


# --- a story older than the window: its window part set against its latest older members ------

DAY = 86_400.0
CHILE_MORE = [
    ("Chile earthquake: Antofagasta buries its 38 dead", "Funerals in Antofagasta for the 38 who died in the 7.1 quake on 12 March."),
    ("Antofagasta rebuilds after 7.1 Chile earthquake", "Chile's government pledged aid to Antofagasta, where 38 died in the quake of 12 March."),
]  # fmt: skip


def _older_story(older: list[tuple[str, str]], later: list[tuple[str, str]]) -> tuple[MemoryStore, list[Item]]:
    """``older`` streamed five days before ``later``, all forced into the first article's story."""
    rows = [(T0 + 60 * n, *a, "0") for n, a in enumerate(older)]
    rows += [(T0 + 5 * DAY + 60 * n, *a, "1") for n, a in enumerate(later)]
    items = [Item(key=n, at=at, title=t, body=b, cluster=c) for n, (at, t, b, c) in enumerate(rows, 1)]
    store = MemoryStore()
    for item in items:
        doc_assign(doc_key=item.key, at=item.at, features=text_features(title=item.title, body=item.body),
                   store=store, params=Params())  # fmt: skip
    first = store.story_of(items[0].key)
    store.stories_apply(moves={i.key: first for i in items if store.story_of(i.key) != first})
    return store, items


def test_another_event_glued_to_a_story_older_than_the_window_leaves_it():
    store, items = _older_story(CHILE_EN, JAPAN_EN)
    story = store.story_of(items[0].key)
    refine = RefineParams()
    assert refine.window_hours * 3600 < 5 * DAY - 3 * 60  # the Chile reports are outside the window
    result = store.window_refine(now=items[-1].at, params=Params(), refine=refine)
    assert result.changed and story in result.split
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert stories["0"] == {story}  # the story keeps its id and its older members
    assert len(stories["1"]) == 1 and story not in stories["1"]
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=refine).changed  # idempotent


def test_without_anchors_a_story_older_than_the_window_is_never_split():
    store, items = _older_story(CHILE_EN, JAPAN_EN)
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams(revive_anchors=0))
    assert not result.changed
    assert {store.story_of(i.key) for i in items} == {store.story_of(items[0].key)}


def test_later_reports_of_a_story_older_than_the_window_stay_in_it():
    store, items = _older_story(CHILE_EN, CHILE_MORE)
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    assert not result.changed
    assert {store.story_of(i.key) for i in items} == {store.story_of(items[0].key)}


def test_one_older_member_is_no_story_to_set_the_window_part_against():
    """A lone older member has no cohesion of its own (``revive_older_min``): its story is left whole."""
    for older_min, stories in ((RefineParams().revive_older_min, 1), (1, 2)):
        store, items = _older_story(CHILE_EN[:1], JAPAN_EN)
        store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams(revive_older_min=older_min))
        assert len({store.story_of(i.key) for i in items}) == stories, older_min


@pytest.mark.django_db(transaction=True)
def test_beat_pass_takes_another_event_off_a_story_older_than_the_window():
    now = datetime.now(tz=UTC)
    chile = [_article(t, s, now - timedelta(days=5, minutes=30 - n)) for n, (t, s) in enumerate(CHILE_EN)]
    japan = [_article(t, s, now - timedelta(minutes=20 - n)) for n, (t, s) in enumerate(JAPAN_EN)]
    for article in [*chile, *japan]:
        article_assign_story(article=article, params=coverage_params())
    story = Article.objects.get(pk=chile[0].pk).story_id
    with transaction.atomic():  # the stream's mistake, as a wrong join would leave it
        Article.objects.filter(pk__in=[a.pk for a in japan]).update(story_id=story)
        from newsdesk.coverage.decisions import stories_reindex

        stories_reindex([story])

    stats = stories_refine_recent()
    assert stats.moved == 3 and stats.created == 1
    rows = dict(Article.objects.values_list("id", "story_id"))
    assert {rows[a.pk] for a in chile} == {story}
    japan_story = {rows[a.pk] for a in japan}
    assert len(japan_story) == 1 and story not in japan_story
    assert stories_refine_recent().moved == 0
    assert dict(Article.objects.values_list("id", "story_id")) == rows


@pytest.mark.django_db(transaction=True)
def test_beat_pass_keeps_later_reports_of_a_story_older_than_the_window():
    now = datetime.now(tz=UTC)
    chile = [_article(t, s, now - timedelta(days=5, minutes=30 - n)) for n, (t, s) in enumerate(CHILE_EN)]
    more = [_article(t, s, now - timedelta(minutes=20 - n)) for n, (t, s) in enumerate(CHILE_MORE)]
    for article in [*chile, *more]:
        article_assign_story(article=article, params=coverage_params())
    story = Article.objects.get(pk=chile[0].pk).story_id
    Article.objects.filter(pk__in=[a.pk for a in more]).update(story_id=story)
    assert stories_refine_recent().moved == 0
    assert set(Article.objects.filter(pk__in=[a.pk for a in [*chile, *more]]).values_list("story_id", flat=True)) == {
        story
    }


# One event, two angles: half the reports quote her lawyer, the other half name the clinic and
# its town; all name the day and the year. Each half holds names of its own, who alone.
_LOHAN_2013 = "Lindsay Lohan began her court-ordered 90-day rehab stay on 2 May 2013"
HELLER = [
    ("Lindsay Lohan checks into rehab, lawyer says", f"{_LOHAN_2013}, her lawyer Mark Heller told reporters."),
    ("Lawyer: Lindsay Lohan is in rehab", f"{_LOHAN_2013}, Mark Heller, her lawyer, said."),
    ("Lindsay Lohan begins rehab stay", f"Her lawyer Mark Heller said {_LOHAN_2013}."),
    ("Lindsay Lohan in rehab, says her lawyer", f"{_LOHAN_2013}; her attorney Mark Heller confirmed it."),
    ("Lohan enters rehab as ordered", f"{_LOHAN_2013}, lawyer Mark Heller said on Thursday."),
]
BETTY_FORD = [
    ("Lindsay Lohan checks into Betty Ford", f"{_LOHAN_2013} at the Betty Ford Center in Rancho Mirage."),
    ("Lohan at Betty Ford Center", f"{_LOHAN_2013}: the Betty Ford Center in Rancho Mirage took her in."),
    ("Lindsay Lohan begins rehab at Betty Ford", f"At the Betty Ford Center, Rancho Mirage: {_LOHAN_2013}."),
    ("Lindsay Lohan moves to Betty Ford clinic", f"{_LOHAN_2013}, now at the Betty Ford Center near Rancho Mirage."),
    ("Betty Ford Center takes in Lohan", f"{_LOHAN_2013} in Rancho Mirage, at the Betty Ford Center."),
]


def test_two_angles_of_one_event_that_differ_in_who_alone_are_not_split():
    """Own cores of names alone, the same year named by most of both: angles of one event, one story."""
    store, items = _glued_store(HELLER, BETTY_FORD)
    story = store.story_of(items[0].key)
    assert not store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams()).changed
    assert {store.story_of(i.key) for i in items} == {story}
    # Without the rule, each half's own names (Mark Heller; Betty Ford, Rancho Mirage) split them.
    store, items = _glued_store(HELLER, BETTY_FORD)
    names_alone = RefineParams(own_core=OwnCore(where_or_when=False))
    assert store.window_refine(now=items[-1].at, params=Params(), refine=names_alone).split
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert len(stories["0"]) == len(stories["1"]) == 1 and stories["0"].isdisjoint(stories["1"])


# An announcement and, days later, the launch it announced: the later reports name people and a
# site of their own, the earlier ones the car; both name the year. Apart in time already.
ROADSTER = [
    ("Elon Musk to send his Tesla Roadster on Falcon Heavy", "Elon Musk said his cherry Tesla Roadster will ride the first Falcon Heavy rocket in 2018."),
    ("Musk: a Tesla Roadster will fly on Falcon Heavy", "The Tesla Roadster of Elon Musk is the payload of the Falcon Heavy test flight in 2018, he said."),
    ("Tesla Roadster is Falcon Heavy's payload, says Musk", "Elon Musk will launch his own Tesla Roadster on the Falcon Heavy in 2018."),
    ("Elon Musk picks his Tesla Roadster for Falcon Heavy", "A Tesla Roadster, Elon Musk's car, goes up on the maiden Falcon Heavy in 2018."),
]  # fmt: skip
LAUNCH = [
    ("Falcon Heavy lifts off from Kennedy Space Center", "The Falcon Heavy roared off the pad at Kennedy Space Center in 2018; Gwynne Shotwell watched."),
    ("SpaceX launches at Kennedy", "A Falcon Heavy rose from Kennedy Space Center in 2018, Gwynne Shotwell of SpaceX said after the countdown."),
    ("Big rocket flies from Kennedy Space Center", "Gwynne Shotwell said the Falcon Heavy cleared the tower at Kennedy Space Center in 2018, as SpaceX planned."),
    ("Kennedy Space Center sees Falcon Heavy launch", "SpaceX's Falcon Heavy lifted off from Kennedy Space Center in 2018; Gwynne Shotwell cheered the crowd."),
]  # fmt: skip


def test_a_revived_story_s_new_event_leaves_it_on_names_alone():
    """Own cores of who alone set a story's window members apart from its older members: they are apart in time."""
    store, items = _older_story(ROADSTER, LAUNCH)
    story = store.story_of(items[0].key)
    result = store.window_refine(now=items[-1].at, params=Params(), refine=RefineParams())
    stories = _stories_by_event(items, {i.key: store.story_of(i.key) for i in items})
    assert result.split == [story] and stories["0"] == {story}
    assert len(stories["1"]) == 1 and story not in stories["1"]
