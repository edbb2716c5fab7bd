"""manage.py recluster: rebuilds the same stories as the live pipeline, deterministically."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsdesk.coverage import recluster as recluster_module
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.models import Article, CoverageDoc, CoveragePosting, CoverageTerm, Story
from tests.support.coverage import FED, QUAKE, T0, make_article

TRAIN = [
    ("Train derails near Lyon, dozens injured", "A high-speed train left the tracks near Lyon on Tuesday."),
    ("Dozens hurt as high-speed train derails outside Lyon", "Rescuers said 40 passengers were injured near Lyon."),
]


def corpus() -> list[Article]:
    rows = [*QUAKE, FED, *TRAIN]
    return [make_article(title=t, summary=s, at=T0 + timedelta(minutes=10 * i)) for i, (t, s) in enumerate(rows)]


def grouping() -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for aid, sid in Article.objects.values_list("id", "story_id"):
        groups.setdefault(sid, set()).add(aid)
    return {frozenset(g) for g in groups.values()}


def recluster(*args: str) -> str:
    out = StringIO()
    call_command("recluster", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _assigned_live() -> tuple[list[Article], set[frozenset[int]]]:
    """The corpus, each article assigned live as it arrives: the articles and the live grouping."""
    articles = corpus()
    for a in articles:
        article_assign_story(article=a)
    return articles, grouping()


@pytest.mark.django_db(transaction=True)
def test_full_rebuild_matches_live_assignment_and_is_deterministic():
    articles, live = _assigned_live()
    index = (CoverageDoc.objects.count(), CoveragePosting.objects.count(), CoverageTerm.objects.get(term="").df)
    assert len(live) == 3
    out = recluster()
    assert "reclustered articles=6 stories=3" in out
    assert grouping() == live
    assert (CoverageDoc.objects.count(), CoveragePosting.objects.count(), CoverageTerm.objects.get(term="").df) == index
    first_ids = sorted(Story.objects.values_list("headline", "article_count"))
    recluster()
    assert grouping() == live
    assert sorted(Story.objects.values_list("headline", "article_count")) == first_ids
    quake = Article.objects.get(id=articles[1].id)
    assert quake.story_evidence["shared_terms"] and quake.story_score > 0


@pytest.mark.django_db(transaction=True)
def test_rebuild_with_a_helper_process_for_text_analysis_gives_the_same_stories(monkeypatch):
    """Big rebuilds analyse text in a forked helper, batch by batch; the stories do not change."""
    _, live = _assigned_live()
    scores = dict(Article.objects.values_list("id", "story_score"))
    monkeypatch.setattr(recluster_module, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(recluster_module, "_FIRST_BATCH", 1)  # one, then two of two and one: the hand-over runs
    monkeypatch.setattr(recluster_module, "_BATCH", 2)
    out = recluster()
    assert "reclustered articles=6 stories=3" in out
    assert grouping() == live
    assert dict(Article.objects.values_list("id", "story_score")) == pytest.approx(scores)
    assert Story.objects.count() == 3  # the old stories are gone, not only emptied


@pytest.mark.django_db(transaction=True)
def test_rebuilt_index_serves_the_live_pipeline():
    corpus()
    recluster()
    late = make_article(title=TRAIN[0][0] + " as toll rises", summary=TRAIN[1][1], at=T0 + timedelta(hours=2))
    story = article_assign_story(article=late)
    assert story.article_count == 3


@pytest.mark.django_db(transaction=True)
def test_since_replays_only_newer_articles():
    _, live = _assigned_live()
    out = recluster("--since", (T0 + timedelta(minutes=25)).isoformat())
    assert "reclustered articles=3" in out  # the Fed story and the two train reports
    assert grouping() == live
    assert CoverageTerm.objects.get(term="").df == 6
    assert CoverageDoc.objects.count() == 6


@pytest.mark.django_db
def test_bad_since_is_a_clear_error():
    with pytest.raises(CommandError, match="not an ISO date"):
        recluster("--since", "yesterday")
