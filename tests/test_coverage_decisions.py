"""Editors' corrections: split, move, merge; respected by assignment and recluster; undo gives the machine's grouping back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.decisions import (
    DecisionError,
    decision_undo,
    stories_merge,
    story_article_move,
    story_article_split,
)
from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.links import NO_LINKS, links_build, links_conflict
from newsdesk.coverage.linkstore import links_load
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.recluster import articles_recluster
from newsdesk.coverage.text import text_features
from newsdesk.models import Article, CoverageStory, Story, StoryDecisionKind
from tests.support.accounts import make_editor
from tests.support.coverage import FED, QUAKE, T0, make_article


def grouping() -> set[frozenset[int]]:
    """The stories as sets of article ids (ids of stories left out: a rebuild may renumber)."""
    groups: dict[int, set[int]] = {}
    for article, story in Article.objects.filter(story__isnull=False).values_list("id", "story_id"):
        groups.setdefault(story, set()).add(article)
    return {frozenset(g) for g in groups.values()}


def story_of(article: Article) -> int:
    return Article.objects.get(pk=article.pk).story_id


@pytest.fixture
def quake(transactional_db) -> list[Article]:
    """Three reports of one earthquake, grouped by the machine into one story."""
    made = [make_article(title=t, summary=s, at=T0 + timedelta(minutes=10 * i)) for i, (t, s) in enumerate(QUAKE)]
    stories = {article_assign_story(article=a).id for a in made}
    assert len(stories) == 1
    return made


@pytest.fixture
def fed(transactional_db) -> Article:
    article = make_article(title=FED[0], summary=FED[1], at=T0 + timedelta(minutes=5))
    article_assign_story(article=article)
    return article


@pytest.fixture
def editor(transactional_db):
    return make_editor()


def test_not_the_same_story_takes_the_article_out_records_who_and_survives_recluster(quake, fed, editor):
    first, second, third = quake
    original = story_of(first)
    decision = story_article_split(article=third, editor=editor)
    assert decision.kind == StoryDecisionKind.SPLIT and decision.editor == editor and decision.created_at
    assert decision.story_id == original and decision.subject == [third.pk]
    assert story_of(third) != original and story_of(second) == original
    assert decision.target_id == story_of(third)
    assert Story.objects.get(pk=original).article_count == 2
    # Assignment respects it: the article enriched again does not go back.
    article_assign_story(article=Article.objects.get(pk=third.pk))
    assert story_of(third) != story_of(first)
    # So does a full rebuild, which would otherwise group the three again.
    articles_recluster()
    assert story_of(third) != story_of(first) and story_of(first) == story_of(second)
    articles_recluster(since=T0)
    assert story_of(third) != story_of(first) and story_of(first) == story_of(second)


def test_undo_of_a_split_gives_back_the_machine_grouping(quake, fed, editor):
    before = grouping()
    original = story_of(quake[0])
    decision = story_article_split(article=quake[2], editor=editor)
    assert grouping() != before
    undone = decision_undo(decision=decision, editor=editor)
    assert undone.undone_at is not None and undone.undone_by == editor
    assert grouping() == before and story_of(quake[2]) == original
    assert Story.objects.get(pk=original).article_count == 3
    assert links_load() == NO_LINKS  # an undone decision binds nothing
    with pytest.raises(DecisionError, match="already undone"):
        decision_undo(decision=decision, editor=editor)


def test_move_puts_an_unrelated_article_into_a_story_and_survives_recluster(quake, fed, editor):
    target = Story.objects.get(pk=story_of(quake[0]))
    left = story_of(fed)
    decision = story_article_move(article=fed, target=target, editor=editor)
    assert decision.kind == StoryDecisionKind.MOVE and decision.target_id == target.pk and decision.story_id == left
    assert story_of(fed) == target.pk
    assert Story.objects.get(pk=target.pk).article_count == 4
    assert Article.objects.get(pk=fed.pk).story_evidence == {"by_editor": True}
    articles_recluster()
    assert len({story_of(a) for a in [*quake, fed]}) == 1
    # Undo: the machine alone keeps the Fed apart from the earthquake.
    decision_undo(decision=decision, editor=editor)
    assert story_of(fed) != story_of(quake[0])
    assert {story_of(a) for a in quake} == {story_of(quake[0])}


def test_merge_two_stories_survives_recluster_and_undo_separates_them_again(quake, fed, editor):
    before = grouping()
    quake_story, fed_story = Story.objects.get(pk=story_of(quake[0])), Story.objects.get(pk=story_of(fed))
    decision = stories_merge(story=fed_story, into=quake_story, editor=editor)
    assert story_of(fed) == quake_story.pk
    assert Story.objects.get(pk=fed_story.pk).merged_into_id == quake_story.pk
    assert Story.objects.get(pk=quake_story.pk).article_count == 4
    assert CoverageStory.objects.filter(story_id=fed_story.pk).count() == 0
    articles_recluster()
    assert len({story_of(a) for a in [*quake, fed]}) == 1
    decision_undo(decision=decision, editor=editor)
    assert grouping() == before
    assert story_of(fed) != story_of(quake[0])


def test_undo_of_a_merge_before_any_rebuild_revives_the_merged_story(quake, fed, editor):
    quake_story, fed_story = Story.objects.get(pk=story_of(quake[0])), Story.objects.get(pk=story_of(fed))
    decision = stories_merge(story=fed_story, into=quake_story, editor=editor)
    decision_undo(decision=decision, editor=editor)
    revived = Story.objects.get(pk=fed_story.pk)
    assert revived.merged_into_id is None and story_of(fed) == fed_story.pk
    assert revived.article_count == 1 and Story.objects.get(pk=quake_story.pk).article_count == 3
    assert CoverageStory.objects.filter(story_id=fed_story.pk).exists()


def test_a_newer_decision_on_a_pair_replaces_an_older_one(quake, fed, editor):
    target = Story.objects.get(pk=story_of(quake[0]))
    story_article_move(article=fed, target=target, editor=editor)
    story_article_split(article=Article.objects.get(pk=fed.pk), editor=editor)
    assert story_of(fed) != target.pk
    links = links_load()
    assert links_conflict(links, [fed.pk], [a.pk for a in quake])
    articles_recluster()
    assert story_of(fed) != story_of(quake[0])


def test_decisions_that_cannot_be_carried_out_say_why(quake, fed, editor):
    alone = Story.objects.get(pk=story_of(fed))
    with pytest.raises(DecisionError, match="only one in its story"):
        story_article_split(article=fed, editor=editor)
    with pytest.raises(DecisionError, match="already in that story"):
        story_article_move(article=quake[0], target=Story.objects.get(pk=story_of(quake[1])), editor=editor)
    with pytest.raises(DecisionError, match="already one story"):
        stories_merge(story=alone, into=alone, editor=editor)


def test_the_engine_never_merges_a_cannot_linked_pair_and_follows_must_links():
    """Streaming in memory (as evaluation and recluster do): the constraint is a plain input."""
    params = Params(window_hours=48)
    texts = [*QUAKE, QUAKE[0]]

    def stream(links, texts=texts):
        store = MemoryStore()
        for key, (title, summary) in enumerate(texts, 1):
            doc_assign(
                doc_key=key,
                at=T0.timestamp() + key,
                features=text_features(title=title, body=summary),
                store=store,
                params=params,
                links=links,
            )
        return store

    free = stream(NO_LINKS)
    assert len({free.story_of(k) for k in range(1, 5)}) == 1
    apart = stream(links_build(cannot=[(1, 3), (2, 3)]))
    assert apart.story_of(3) not in {apart.story_of(1), apart.story_of(2)}
    assert apart.story_of(1) == apart.story_of(2) == apart.story_of(4)
    # An article that fits no story lexically still joins its must-partner's story.
    store = stream(links_build(must=[(1, 2)]), [QUAKE[0], FED])
    assert store.story_of(1) == store.story_of(2)
