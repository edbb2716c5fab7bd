"""The feed-cache contract: every write that can change what a feed shows moves the feed version.

Feeds answer repeats with a 304 memoized under one version (newsdesk/changes.py);
a write that skips the bump serves stale feeds until the memo expires. Each
write path below runs in its own committed transaction, as in production, and
must move the version by the time it commits. New write paths (refinement,
editor corrections) join ``WRITE_PATHS``; admin actions on the shown models are
found and run through the admin by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse

from newsdesk import changes
from newsdesk.ingest.parse import ParsedItem
from newsdesk.ingest.store import articles_upsert
from newsdesk.models import Article, Source, Story
from tests.support.articles import BASE_TIME, make_article, make_source, make_story

REPO = Path(__file__).resolve().parent.parent


class World:
    """A few rows every write path can work on."""

    def __init__(self) -> None:
        self.source = make_source(name="El Financiero", country="MX")
        self.story = make_story(sources=2)
        self.articles = [make_article(source=self.source, story=self.story, minutes_ago=i) for i in range(3)]


def _article(world: World, n: int = 0) -> Article:
    return Article.objects.get(id=world.articles[n].id)


def _upsert(world: World) -> None:
    item = ParsedItem(
        dedupe_key="bulk-1", title="Bulk headline", url="https://example.org/bulk-1", summary="s",
        language="es", published_at=BASE_TIME + timedelta(minutes=2),
    )  # fmt: skip
    assert articles_upsert(source=world.source, items=[item]).new == 1


def _bulk_update(world: World) -> None:
    rows = [_article(world, n) for n in range(2)]
    for row in rows:
        row.title_en = f"Bulk edit {row.id}"
    Article.objects.bulk_update(rows, ["title_en"])


def _assign(world: World) -> None:
    from newsdesk.coverage.cluster import article_assign_story

    article_assign_story(article=make_article(source=world.source, story=None, title_en="A new lithium deal"))


def _recluster(world: World) -> None:
    from newsdesk.coverage.recluster import articles_recluster

    articles_recluster(since=BASE_TIME - timedelta(days=1))


def _editor_split(world: World) -> None:
    from newsdesk.coverage.decisions import story_article_split
    from tests.support.accounts import make_editor

    story_article_split(article=_article(world, 2), editor=make_editor())


def _editor_move(world: World) -> None:
    from newsdesk.coverage.decisions import story_article_move
    from tests.support.accounts import make_editor

    other = make_story()
    make_article(source=world.source, story=other)
    story_article_move(article=_article(world, 2), target=other, editor=make_editor())


def _editor_merge(world: World) -> None:
    from newsdesk.coverage.decisions import stories_merge
    from tests.support.accounts import make_editor

    other = make_story()
    make_article(source=world.source, story=other)
    stories_merge(story=other, into=Story.objects.get(id=world.story.id), editor=make_editor())


def _editor_undo(world: World) -> None:
    """An undo alone: the decision row is written without touching what feeds show, then undone."""
    from newsdesk.coverage.decisions import decision_undo
    from newsdesk.models import StoryDecision
    from tests.support.accounts import make_editor

    lone = make_story()
    moved = make_article(source=world.source, story=lone)
    decision = StoryDecision.objects.create(
        kind="split", article=moved, story_id=world.story.id, subject=[moved.id], cannot=[a.id for a in world.articles]
    )
    decision_undo(decision=decision, editor=make_editor())


# name -> a write that changes what some feed shows.
WRITE_PATHS: dict[str, Callable[[World], object]] = {
    "Article save": lambda w: setattr(a := _article(w), "title_en", "Edited") or a.save(),
    "Article create": lambda w: make_article(source=w.source),
    "Article delete": lambda w: _article(w).delete(),
    "Article bulk_create": lambda w: Article.objects.bulk_create(
        [Article(source=w.source, dedupe_key="b", title_orig="t")]
    ),
    "Article bulk_update": _bulk_update,
    "Article update()": lambda w: Article.objects.filter(id=w.articles[0].id).update(translation_status="pending"),
    "Article queryset delete()": lambda w: Article.objects.filter(id=w.articles[0].id).delete(),
    "Story save": lambda w: setattr(s := Story.objects.get(id=w.story.id), "source_count", 5) or s.save(),
    "Story create": lambda w: make_story(),
    "Story delete": lambda w: Story.objects.get(id=w.story.id).delete(),
    "Story bulk_create": lambda w: Story.objects.bulk_create([Story(headline="new")]),
    "Story update()": lambda w: Story.objects.filter(id=w.story.id).update(source_count=9),
    "Story queryset delete()": lambda w: Story.objects.filter(id=w.story.id).delete(),
    "Source rename": lambda w: setattr(s := Source.objects.get(id=w.source.id), "name", "New") or s.save(),
    "Source rename, update_fields": lambda w: (s := Source.objects.get(id=w.source.id), setattr(s, "name", "N"))
    and s.save(update_fields=["name"]),
    "Source rename by update()": lambda w: Source.objects.filter(id=w.source.id).update(name="Renamed"),
    "Source delete": lambda w: Source.objects.get(id=w.source.id).delete(),
    "ingest bulk upsert": _upsert,
    "coverage story assignment": _assign,
    "coverage recluster": _recluster,
    "editor: not the same story": _editor_split,
    "editor: move to another story": _editor_move,
    "editor: merge two stories": _editor_merge,
    "editor: undo": _editor_undo,
}


def _version() -> int | None:
    return cache.get(changes.VERSION_KEY)


def _skips_the_bump(write: Callable[[], object]) -> bool:
    """True when ``write``, committed, left the feed version where it was."""
    changes.articles_changed()  # a counter to compare with
    before = _version()
    with transaction.atomic():  # the bump readers need is the one at commit
        write()
    return _version() == before


@pytest.mark.django_db(transaction=True)
def test_every_write_path_moves_the_feed_version(admin_client, monkeypatch):
    from newsdesk import tasks

    monkeypatch.setattr(tasks.retranslate_article, "delay", lambda *a, **k: None)  # no broker needed
    skipped = []
    for name, write in WRITE_PATHS.items():
        world = World()
        if _skips_the_bump(lambda w=world, f=write: f(w)):
            skipped.append(name)
    # Every admin action on a model feeds show, run through the admin as an editor would.
    for model in (Article, Story):
        model_admin = admin.site._registry[model]
        changelist = reverse(f"admin:newsdesk_{model._meta.model_name}_changelist")
        request = admin_client.get(changelist).wsgi_request
        for action in model_admin.get_actions(request):
            world = World()
            ids = [a.id for a in world.articles] if model is Article else [world.story.id]
            data = {"action": action, "_selected_action": ids, "post": "yes"}
            if _skips_the_bump(lambda url=changelist, d=data: admin_client.post(url, d)):
                skipped.append(f"admin {model.__name__} action {action}")
        world = World()
        target = world.articles[0].id if model is Article else world.story.id
        delete = reverse(f"admin:newsdesk_{model._meta.model_name}_delete", args=[target])
        if _skips_the_bump(lambda url=delete: admin_client.post(url, {"post": "yes"})):
            skipped.append(f"admin {model.__name__} delete view")
        assert not model.objects.filter(id=target).exists(), "the admin delete ran"
    assert skipped == []


@pytest.mark.django_db(transaction=True)
def test_the_check_sees_a_write_that_skips_the_bump():
    """Raw SQL sends no signal and passes no QuerySet: without its own bump, the test above would catch it."""
    world = World()
    table = connection.ops.quote_name(Story._meta.db_table)
    assert _skips_the_bump(
        lambda: connection.cursor().execute(f"UPDATE {table} SET source_count = 7 WHERE id = %s", [world.story.id])  # noqa: S608
    )
    assert not _skips_the_bump(lambda: Story.objects.filter(id=world.story.id).update(source_count=8))


@pytest.mark.django_db
def test_writes_feeds_do_not_show_leave_the_version():
    """Poll scheduling and health writes, many a second, must not flush every feed's memo."""
    source = make_source()
    changes.articles_changed()
    before = _version()
    Source.objects.filter(id=source.id).update(last_error="timeout", next_poll_at=BASE_TIME)
    Source.objects.bulk_update([source], ["last_error"])
    Article.objects.filter(id=-1).update(title_en="nothing matched")
    assert _version() == before


# Modules that may name the article or story table in SQL: coverage writes
# membership and counters in single statements (each path bumps, tested above:
# assignment, recluster); search reads and its schema keeps an FTS index.
# The tables named in SQL: through the model's _meta, or literally.
TABLE_NAMES = re.compile(r"\b(Article|Story)\._meta\.db_table\b|\bnewsdesk_(article|story)\b")
RAW_SQL_ALLOWED = (
    "newsdesk/coverage/",
    "newsdesk/web/search.py",
    "newsdesk/models/search_schema.py",
    "newsdesk/migrations/",
)


def test_only_the_coverage_store_writes_articles_and_stories_with_sql():
    """Any other raw write to these tables would bypass FeedShownQuerySet: keep them where the bumps are tested."""
    offenders, allowed = [], []
    for path in sorted((REPO / "newsdesk").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TABLE_NAMES.search(line):
                (allowed if rel.startswith(RAW_SQL_ALLOWED) else offenders).append(f"{rel}:{number}")
    assert any(place.startswith("newsdesk/coverage/") for place in allowed), "the scan finds the coverage store's SQL"
    assert offenders == []
