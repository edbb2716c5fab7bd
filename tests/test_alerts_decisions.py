"""Alerts against the coverage stage's real writers: machine grouping, an editor's split, merge and undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.accounts.desks import saved_view_create
from newsdesk.alerts.services import alert_create
from newsdesk.alerts.sweep import alerts_sweep
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.decisions import decision_undo, stories_merge, story_article_move, story_article_split
from newsdesk.models import AlertEvent, Story
from tests.support.accounts import make_editor
from tests.support.coverage import FED, QUAKE, T0, make_article

pytestmark = pytest.mark.django_db(transaction=True)


def _sweep() -> int:
    return alerts_sweep(now=timezone.now()).fired


def test_split_merge_and_undo_by_an_editor_do_not_fire_again(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NEWSDESK_ALERT_WINDOW_HOURS = 24 * 3650  # the fixtures' stories are dated March 2026
    editor = make_editor()
    view = saved_view_create(owner=editor, name="World", query="")
    alert_create(owner=editor, view_pk=view.pk, name="Spreading", metric="countries", thresholds="2",
                 email_to="desk@example.org")  # fmt: skip
    reports = [*QUAKE, QUAKE[0]]
    quake = [
        make_article(title=t, summary=s, country=c, at=T0 + timedelta(minutes=10 * i))
        for i, ((t, s), c) in enumerate(zip(reports, ("ID", "GB", "US", "FR"), strict=True))
    ]
    stories = {article_assign_story(article=a).id for a in quake}
    assert len(stories) == 1
    story = Story.objects.get(id=stories.pop())
    assert story.country_count == 4
    assert _sweep() == 1

    # The editor takes two reports out into a story of their own (a split, then a move):
    # that new story spans two countries, but its articles were sent already.
    split = story_article_split(article=quake[2], editor=editor)
    assert split.target_id != story.id
    story_article_move(article=quake[3], target=split.target, editor=editor)
    parted = Story.objects.get(id=split.target_id)
    assert parted.country_count == 2 and Story.objects.get(id=story.id).country_count == 2
    assert _sweep() == 0
    # Merged back, then the merge undone: the revived story is the same two sent articles.
    merge = stories_merge(story=parted, into=story, editor=editor)
    assert _sweep() == 0
    decision_undo(decision=merge, editor=editor)
    assert Story.objects.get(id=parted.id).country_count == 2
    assert _sweep() == 0
    # A different event still fires.
    for country, minutes in (("US", 5), ("FR", 15)):
        article_assign_story(
            article=make_article(title=FED[0], summary=FED[1], country=country, at=T0 + timedelta(minutes=minutes))
        )
    assert _sweep() == 1
    assert AlertEvent.objects.count() == 2
