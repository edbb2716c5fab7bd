"""Users and articles for the accounts tests (editors, admins, saved views)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from newsdesk.accounts.roles import editor_create
from newsdesk.models import Article, Source, Story

PASSWORD = "correct horse battery staple 42"
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses, so throttle counters in the shared cache never collide."""
    return f"{prefix}-{next(_seq)}-{datetime.now(UTC).timestamp():.6f}"


def make_editor(username: str | None = None, password: str = PASSWORD):
    return editor_create(username=username or unique("editor"), email="ed@example.org", password=password)


def make_admin(username: str | None = None, password: str = PASSWORD):
    return get_user_model().objects.create_superuser(
        username=username or unique("admin"), email="admin@example.org", password=password
    )


def make_plain_user(username: str | None = None, password: str = PASSWORD):
    """Signed in but neither staff nor editor: may not read a private desk."""
    return get_user_model().objects.create_user(username=username or unique("user"), password=password)


def make_source(**kw) -> Source:
    defaults = {
        "name": "El Financiero",
        "url": f"https://example.org/{unique('feed')}.xml",
        "country": "MX",
        "language": "es",
    }
    return Source.objects.create(**{**defaults, **kw})


def make_article(source: Source, title: str, *, story: Story | None = None, minutes_ago: int = 0) -> Article:
    return Article.objects.create(
        source=source,
        dedupe_key=unique("a"),
        url=f"https://example.org/{next(_seq)}",
        title_orig=title,
        title_en=title,
        summary_en=f"Summary of {title}",
        language=source.language,
        country=source.country,
        translation_status="done",
        published_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        story=story,
    )
