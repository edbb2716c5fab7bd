"""A page's text that is not the report (cookie notice, copyright line, menu) does not speak for the article."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.coverage import text as coverage_text
from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineParams, stories_refine
from newsdesk.coverage.text import report_lead, text_features

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()

COOKIES_EN = (
    "By continuing to use this site you consent to the use of cookies on your device as described in our "
    "Cookie Policy unless you have disabled them. You can change your Cookie Settings at any time."
)
COOKIES_PL = (
    "Drogi Użytkowniku! W związku z zwiedzaniem naszych stron internetowych możemy przetwarzać Twoje dane "
    "osobowe. Prosimy o zapoznanie się z Polityką Prywatności."
)
COPYRIGHT = "Copyright 2020 The Associated Press. All rights reserved. This material may not be published or broadcast."


@pytest.mark.parametrize(
    "title,body",
    [
        ("Magnitude 7.1 earthquake strikes northern Chile", COOKIES_EN),
        ("Trzęsienie ziemi w Chile: nie żyje 38 osób", COOKIES_PL),
        ("Federal officials reach deal on $2 trillion aid package", COPYRIGHT),
        # A page prints its headline above the text: repeating it is not sharing a word with it.
        (
            "Magnitude 7.1 earthquake strikes northern Chile",
            f"Magnitude 7.1 Earthquake Strikes Northern Chile\n{COOKIES_EN}",
        ),
    ],
    ids=["cookies-en", "cookies-pl", "copyright", "headline-repeated"],
)
def test_a_lead_sharing_no_word_with_its_headline_is_not_its_report(title, body):
    assert report_lead(title=title, body=body) == ""
    # The article is its headline alone: none of the notice's words or "names" (Cookie Policy) count.
    assert text_features(title=title, body=body) == text_features(title=title)


@pytest.mark.parametrize(
    "title,body",
    [
        (
            "Magnitude 7.1 earthquake strikes northern Chile",
            "The earthquake hit Antofagasta on 12 March 2025; 38 died.",
        ),
        (
            "Sismo de magnitud 7,1 sacude el norte de Chile",
            "El terremoto en el norte chileno dejó 38 muertos en Antofagasta.",
        ),
        # Inflected: the same six-letter stem ("terrem...") is a shared word.
        ("Terremoto en Chile deja 38 muertos", "Los terremotos de marzo destruyeron casas en Antofagasta y Calama."),
        # Too short to judge: a caption or a dateline says nothing either way.
        ("Magnitude 7.1 earthquake strikes northern Chile", "Photo: Reuters"),
        ("", COOKIES_EN),
    ],
    ids=["english", "spanish", "inflected", "short", "no-headline"],
)
def test_a_lead_that_reports_its_headline_is_kept(title, body):
    assert report_lead(title=title, body=body) == body
    assert text_features(title=title, body=body).terms != text_features(title=title).terms or not body


REPORTS = [
    (
        "Magnitude 7.1 earthquake strikes northern Chile near Antofagasta",
        "The quake hit Antofagasta on 12 March 2025; 38 people died and rescuers searched the rubble.",
    ),
    (
        "Chile earthquake: 7.1 tremor kills 38 near Antofagasta",
        "Rescuers in Antofagasta searched the rubble after the earthquake that killed 38 people in Chile.",
    ),
    (
        "Strong 7.1 quake in Chile leaves 38 dead, Antofagasta damaged",
        "Chile's president visited Antofagasta, where the earthquake killed 38 people.",
    ),
]
# The same event's headline above a subscription wall: the page's text is the wall, whose rare
# words and place ("United States") would speak for the article.
WALLED = (
    "Chile quake toll rises to 38",
    "We hope you have enjoyed your complimentary access for the month. To continue viewing content, "
    "subscribe to Tribune Digital Premium: unlimited access on desktop, tablet and smartphone apps, "
    "exclusive newsletters, crosswords and puzzles. Already a subscriber? Sign in with your Tribune account. "
    "Questions? Contact Customer Service at our Help Center, Monday to Friday. Terms of Service and Privacy "
    "Policy apply; cancel anytime. Offer valid for new subscribers in the United States only.",
)


def _stream(rows: list[tuple[str, str]]) -> MemoryStore:
    store = MemoryStore()
    for n, (title, body) in enumerate(rows, 1):
        doc_assign(doc_key=n, at=T0 + 60 * n, features=text_features(title=title, body=body), store=store,
                   params=Params())  # fmt: skip
    return store


def test_a_report_behind_a_subscription_wall_joins_its_story(monkeypatch):
    store = _stream([*REPORTS, WALLED])
    assert len({store.story_of(k) for k in range(1, 5)}) == 1
    # Read as it was before (the wall's words as the article's lead), the same page starts a story of its own.
    monkeypatch.setattr(coverage_text, "report_lead", lambda *, title, body: body)
    store = _stream([*REPORTS, WALLED])
    assert store.story_of(4) != store.story_of(1)


NICE = [
    ("Truck attack in Nice, France kills 84 on Bastille Day",
     "A truck drove into the crowd on the Promenade des Anglais in Nice, France, killing 84 people celebrating Bastille Day."),
    ("France mourns 84 killed in Nice truck attack",
     "President Hollande said France was in mourning after a truck ploughed into Bastille Day crowds in Nice."),
    ("Nice attack: truck driver kills 84 at Bastille Day fireworks",
     "The driver of a truck killed 84 people in Nice, France, as crowds watched Bastille Day fireworks."),
    ("Bastille Day truck attack in Nice: France declares mourning",
     "France declared three days of mourning after 84 people were killed by a truck in Nice on Bastille Day."),
]  # fmt: skip
# One more report of the same attack, naming the victims' countries and not France.
VICTIMS = (
    "Tunisians and Algerians among the dead in Nice truck attack",
    "Citizens of Tunisia and Algeria were among the 84 people killed by the truck on the Promenade des Anglais, "
    "their governments said.",
)


def test_refinement_does_not_split_off_a_lone_report_whose_places_differ_from_the_story_s():
    """A lone member's particulars are not a core: naming other countries is not another event."""
    store = _stream([*NICE, VICTIMS])
    first = store.story_of(1)
    store.stories_apply(moves={k: first for k in range(1, 6) if store.story_of(k) != first})
    docs = store.all_docs()
    victims = next(d for d in docs if d.key == 5)
    assert {"p:TN", "p:DZ"} <= victims.particulars and "p:FR" not in victims.particulars
    assert not stories_refine(docs=docs, params=Params(), refine=RefineParams()).changed
    # Judged as a core of its own (as before), its places conflict with the story's: split off.
    lone_core = stories_refine(docs=docs, params=Params(), refine=RefineParams(conflict_lone=True))
    assert lone_core.moves == {5: -1}
    # Two groups of reports whose cores disagree are still set apart (the same-kind tests): see
    # test_coverage_refine.py, which runs with this default.
