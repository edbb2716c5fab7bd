"""Editors' decisions bind the refinement pass beat runs: it never undoes a split or a merge an editor made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.dbrefine import stories_refine_recent
from newsdesk.coverage.decisions import decision_undo, stories_merge, story_article_split
from newsdesk.models import Article, Story
from tests.support.accounts import make_editor
from tests.test_coverage_cluster import FED, QUAKE, T0, make_article

pytestmark = pytest.mark.django_db(transaction=True)
NOW = T0 + timedelta(hours=2)


def story_of(article: Article) -> int:
    return Article.objects.get(pk=article.pk).story_id


def assigned(items, *, minutes: int = 0) -> list[Article]:
    made = [
        make_article(title=t, summary=s, at=T0 + timedelta(minutes=minutes + 10 * i)) for i, (t, s) in enumerate(items)
    ]
    for article in made:
        article_assign_story(article=article)
    return made


def test_refinement_does_not_put_back_an_article_an_editor_took_out():
    from newsdesk.coverage.decisions import stories_reindex

    quake = assigned(QUAKE)
    assert len({story_of(a) for a in quake}) == 1
    # A fragment of one event the stream left apart: refinement merges it back.
    original = story_of(quake[0])
    fragment = Story.objects.create(headline="")
    Article.objects.filter(id=quake[2].id).update(story_id=fragment.id)
    stories_reindex([original, fragment.id])
    stories_refine_recent(now=NOW)
    assert story_of(quake[2]) == story_of(quake[0]), "refinement merges fragments of one event"
    # Taken out by an editor, it stays out.
    story_article_split(article=Article.objects.get(pk=quake[2].pk), editor=make_editor())
    apart = story_of(quake[2])
    stories_refine_recent(now=NOW)
    stories_refine_recent(now=NOW)
    assert story_of(quake[2]) not in {story_of(quake[0]), story_of(quake[1])}
    assert story_of(quake[0]) == story_of(quake[1])
    assert Story.objects.filter(pk=apart).exists()


def test_refinement_splits_a_glued_story_but_not_one_an_editor_merged():
    from newsdesk.coverage.decisions import stories_reindex

    quake = assigned(QUAKE)
    fed = assigned([FED, (FED[0] + " again", FED[1])], minutes=5)
    quake_story, fed_story = story_of(quake[0]), story_of(fed[0])
    # Glued by the machine (as a stream order can): refinement takes the two events apart.
    Article.objects.filter(id__in=[a.id for a in fed]).update(story_id=quake_story)
    Story.objects.filter(id=fed_story).update(merged_into_id=quake_story)
    stories_reindex([quake_story])
    stories_refine_recent(now=NOW)
    assert story_of(fed[0]) != story_of(quake[0]), "refinement splits two events glued together"
    # The same two stories merged by an editor stay merged, pass after pass.
    editor = make_editor()
    decision = stories_merge(
        story=Story.objects.get(pk=story_of(fed[0])), into=Story.objects.get(pk=story_of(quake[0])), editor=editor
    )
    stories_refine_recent(now=NOW)
    stories_refine_recent(now=NOW)
    assert len({story_of(a) for a in [*quake, *fed]}) == 1, "the editor's merge holds"
    decision_undo(decision=decision, editor=editor)
    assert story_of(fed[0]) != story_of(quake[0])
