"""Refinement: a lone member's particulars are not a core, so naming other places does not split it off."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from newsdesk.coverage import dbrefine
from newsdesk.coverage.cluster import article_assign_story, coverage_params, refine_params
from newsdesk.coverage.dbrefine import stories_refine_recent
from newsdesk.coverage.decisions import stories_reindex
from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineParams, stories_refine
from newsdesk.coverage.text import text_features
from newsdesk.models import Article
from tests.test_coverage_refine import _article

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


def _stream(rows: list[tuple[str, str]]) -> MemoryStore:
    store = MemoryStore()
    for n, (title, body) in enumerate(rows, 1):
        doc_assign(doc_key=n, at=T0 + 60 * n, features=text_features(title=title, body=body), store=store,
                   params=Params())  # fmt: skip
    return store


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


@pytest.mark.django_db(transaction=True)
def test_the_database_pass_keeps_a_lone_report_whose_places_differ_as_the_memory_one_does():
    # Word scores only: the same similarities as the memory test above, whichever encoder is installed.
    params = replace(coverage_params(), semantic_weight=0.0)
    now = datetime.now(tz=UTC)
    articles = [_article(t, s, now - timedelta(minutes=30 - n)) for n, (t, s) in enumerate([*NICE, VICTIMS])]
    for article in articles:
        article_assign_story(article=article, params=params)
    story = Article.objects.get(pk=articles[0].pk).story_id
    with transaction.atomic():  # one story, whatever the stream decided
        Article.objects.filter(pk__in=[a.pk for a in articles]).update(story_id=story)
        stories_reindex([story])
    assert stories_refine_recent(params=params).moved == 0
    assert set(Article.objects.values_list("story_id", flat=True)) == {story}
    # Judged as a core of its own (as before), the lone report is split off. The worker's cache
    # remembers each story's split by its members (the parameters are fixed in production).
    dbrefine._CACHE.splits.clear()
    lone_core = stories_refine_recent(params=params, refine=replace(refine_params(), conflict_lone=True))
    assert lone_core.moved == 1
    assert Article.objects.get(pk=articles[-1].pk).story_id != story
