"""Editors correct Similar Coverage: take an article out of a story, move it, merge two stories, undo.

Each service records a :class:`~newsdesk.models.StoryDecision` (who, when,
which article pairs must or must not share a story) and carries it out
through the coverage stage's own writers, in one transaction:
:func:`~newsdesk.coverage.cluster.article_assign_story` re-assigns an
article with the decision as a constraint (:mod:`newsdesk.coverage.links`),
and :func:`~newsdesk.coverage.dbwrite.story_merge` folds one story into
another. From then on the live assignment, refinement and ``recluster``
read the same constraints (:func:`~newsdesk.coverage.linkstore.links_load`).

Undo marks the decision undone and gives back the machine's grouping: the
article rejoins the story it was taken from, the merged story gets its
members back. Every write bumps the feed version (``articles_changed``).

Each service first takes the decisions' table (:func:`~newsdesk.coverage.linkstore.decisions_lock`),
before any row lock: a full ``recluster`` writing meanwhile holds it, so the
decision waits for the rebuild's commit and is then carried out against the
rebuilt stories, never lost to the rebuild's write or refused by a deadlock
with it.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from newsdesk.changes import articles_changed
from newsdesk.models import Article, Story, StoryDecision, StoryDecisionKind

from .cluster import article_assign_story, coverage_params
from .dbwrite import story_centroid_rebuild, story_merge
from .links import links_build, links_merge
from .linkstore import decisions_lock, links_load
from .semantic import semantic_enabled
from .storycounts import story_refresh_counts

log = logging.getLogger(__name__)
MAX_FOLLOW = 100  # merged_into hops followed (a cycle would be a bug)


class DecisionError(ValueError):
    """The decision cannot be carried out as asked (the message says why, for the editor)."""


def story_current(story: Story) -> Story:
    """The story that absorbed ``story`` through merges (itself when it stands), locked for the change."""
    for _ in range(MAX_FOLLOW):
        locked = Story.objects.select_for_update().get(pk=story.pk)
        if locked.merged_into_id is None:
            return locked
        story = Story(pk=locked.merged_into_id)
    raise DecisionError(f"story {story.pk}: merge chain too long")


def _members(story_id: int, *, exclude: int | None = None) -> list[int]:
    qs = Article.objects.filter(story_id=story_id)
    if exclude is not None:
        qs = qs.exclude(id=exclude)
    return sorted(qs.values_list("id", flat=True))


def _article_locked(article: Article) -> Article:
    locked = Article.objects.select_for_update().filter(pk=article.pk).first()
    if locked is None:
        raise DecisionError("that article no longer exists")
    if locked.story_id is None:
        raise DecisionError("that article is in no story yet")
    return locked


@transaction.atomic
def story_article_split(*, article: Article, editor: AbstractBaseUser) -> StoryDecision:
    """ "Not the same story": the article leaves its story and never rejoins it; the machine places it anew.

    It is assigned again with a cannot-link to every other member of the
    story it leaves, so it joins another story that fits or starts its own.
    """
    decisions_lock()  # before any row lock: a rebuild writing meanwhile is waited for here
    article = _article_locked(article)
    story = story_current(Story(pk=article.story_id))
    others = _members(story.pk, exclude=article.pk)
    if not others:
        raise DecisionError("the article is the only one in its story")
    decision = StoryDecision.objects.create(
        kind=StoryDecisionKind.SPLIT, article=article, story=story, subject=[article.pk], cannot=others, editor=editor
    )
    placed = article_assign_story(article=article)
    decision.target = placed
    decision.save(update_fields=["target"])
    log.info(
        "event=story_decision kind=split article_id=%s story_id=%s new_story_id=%s", article.pk, story.pk, placed.pk
    )
    return decision


@transaction.atomic
def story_article_move(*, article: Article, target: Story, editor: AbstractBaseUser) -> StoryDecision:
    """Move the article to another story: it must share ``target``'s story, and never its old one's."""
    decisions_lock()
    article = _article_locked(article)
    target = story_current(target)
    story = story_current(Story(pk=article.story_id))
    if target.pk == story.pk:
        raise DecisionError("the article is already in that story")
    must = _members(target.pk)
    if not must:
        raise DecisionError("that story has no articles")
    decision = StoryDecision.objects.create(
        kind=StoryDecisionKind.MOVE,
        article=article,
        story=story,
        target=target,
        subject=[article.pk],
        must=must,
        cannot=_members(story.pk, exclude=article.pk),
        editor=editor,
    )
    placed = article_assign_story(article=article)
    if placed.pk != target.pk:  # the engine's must-link path joins the target; anything else is a bug
        raise DecisionError(f"the article could not be moved (placed in story {placed.pk})")
    log.info("event=story_decision kind=move article_id=%s from=%s to=%s", article.pk, story.pk, target.pk)
    return decision


@transaction.atomic
def stories_merge(*, story: Story, into: Story, editor: AbstractBaseUser) -> StoryDecision:
    """Merge ``story`` into ``into``: their articles must share a story from now on."""
    decisions_lock()
    first, second = sorted([story.pk, into.pk])  # lock both rows in id order, as the engine's merges do
    list(Story.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk").values_list("pk"))
    story, into = story_current(story), story_current(into)
    if story.pk == into.pk:
        raise DecisionError("these are already one story")
    subject, must = _members(story.pk), _members(into.pk)
    if not subject or not must:
        raise DecisionError("an empty story cannot be merged")
    decision = StoryDecision.objects.create(
        kind=StoryDecisionKind.MERGE, story=story, target=into, subject=subject, must=must, editor=editor
    )
    _merge(source=story.pk, target=into.pk)
    log.info("event=story_decision kind=merge story_id=%s into=%s", story.pk, into.pk)
    return decision


@transaction.atomic
def decision_undo(*, decision: StoryDecision, editor: AbstractBaseUser) -> StoryDecision:
    """Withdraw a decision and give back the machine's grouping.

    An article taken out or moved rejoins the story it left (its members
    then, wherever they are now), unless another standing decision keeps
    them apart; a merged story gets back the members it brought.
    """
    decisions_lock()
    decision = StoryDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.undone_at is not None:
        raise DecisionError("that decision was already undone")
    decision.undone_at, decision.undone_by = timezone.now(), editor
    decision.save(update_fields=["undone_at", "undone_by"])
    if decision.kind == StoryDecisionKind.MERGE:
        _unmerge(decision)
    else:
        _article_restore(decision)
    log.info("event=story_decision_undone decision_id=%s kind=%s", decision.pk, decision.kind)
    return decision


def _article_restore(decision: StoryDecision) -> None:
    article = Article.objects.select_for_update().filter(pk=decision.article_id).first()
    if article is None or article.story_id is None:
        return  # deleted, or not grouped yet: the next assignment sees the decision gone
    was = Article.objects.filter(id__in=decision.cannot, story__isnull=False).values_list("id", flat=True)
    back = links_build(must=[(article.pk, other) for other in was])
    # Re-assignment recounts the story it leaves and bumps the feed version at commit.
    article_assign_story(article=article, links=links_merge(links_load(), back))


def _unmerge(decision: StoryDecision) -> None:
    """The merged story's members (those still in the surviving story) go back to a story of their own."""
    where = decision.target
    if where is None:
        return
    where = story_current(where)
    moving = sorted(Article.objects.filter(id__in=decision.subject, story_id=where.pk).values_list("id", flat=True))
    if not moving or len(moving) == Article.objects.filter(story_id=where.pk).count():
        return  # nothing to take back, or nothing would remain
    revived = None
    if decision.story_id is not None:
        revived = Story.objects.select_for_update().filter(pk=decision.story_id, merged_into_id=where.pk).first()
    if revived is None:
        revived = Story.objects.create(headline="")
    else:
        revived.merged_into = None
        revived.save(update_fields=["merged_into"])
    Article.objects.filter(id__in=moving).update(story_id=revived.pk)
    stories_reindex([where.pk, revived.pk])


def _merge(*, source: int, target: int) -> None:
    story_merge(source=source, target=target, centroid_terms=coverage_params().centroid_terms)
    # The merged story is recounted too: its figures go to zero, as the engine's merges leave them.
    stories_reindex([target, source])


def stories_reindex(stories: list[int]) -> None:
    """Centroids, summed embeddings and counters of stories whose membership an editor changed.

    A story merged away keeps no centroid (its members' vectors went to the
    survivor's); its counters go to zero.
    """
    keep = coverage_params().centroid_terms
    live = list(Story.objects.filter(pk__in=stories, merged_into__isnull=True).values_list("pk", flat=True))
    for story_id in live:
        story_centroid_rebuild(story_id=story_id, keep=keep)
    if semantic_enabled():
        from .dbsemantic import story_embeddings_rebuild

        story_embeddings_rebuild(live)
    for story in Story.objects.filter(pk__in=stories):
        story_refresh_counts(story=story)
    articles_changed()
