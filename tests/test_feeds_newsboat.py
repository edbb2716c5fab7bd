"""What a subscriber sees in newsboat, a feed reader nobody here wrote.

newsboat (the Debian package; newsboat 2.21 reads RSS and Atom, not JSON Feed)
reloads the RSS and Atom feeds of a filtered view and a story's RSS from a live
server; the test reads what it stored in its cache (the items a reader shows):
English titles, one distinct link per item, no duplicates after a re-read, and
a changed item shown changed.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from newsdesk.models import Article, TranslationStatus
from tests.support.articles import make_article, make_source, make_story

NEWSBOAT = shutil.which("newsboat")
pytestmark = [
    pytest.mark.slow,  # an outside process against a live server
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (Debian: apt-get install -y newsboat)"),
]


def reload(home: Path, urls: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Run ``newsboat -x reload`` once per feed, each as its own subscriber (its own cache: newsboat
    keys items by guid across all feeds, and the three feeds share their articles' guids), and
    return (guid, title, link) of the items each keeps."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for n, url in enumerate(urls):
        reader = home / f"reader{n}"
        reader.mkdir(exist_ok=True)
        (reader / "urls").write_text(url + "\n")
        (reader / "config").write_text("")
        subprocess.run(
            [NEWSBOAT, "-u", str(reader / "urls"), "-c", str(reader / "cache.db"), "-C", str(reader / "config"),
             "-x", "reload"],
            env={"HOME": str(reader), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=True, timeout=60, capture_output=True,
        )  # fmt: skip
        with sqlite3.connect(reader / "cache.db") as db:
            found[url] = db.execute(
                "SELECT guid, title, url FROM rss_item WHERE deleted = 0 AND feedurl = ? ORDER BY id", (url,)
            ).fetchall()
    return found


def test_newsboat_shows_english_titles_distinct_links_no_duplicates_and_changes(live_server, settings, tmp_path):
    settings.NEWSDESK_FEED_HOLD_SECONDS = 600
    mx = make_source(name="El Financiero", country="MX", language="es")
    story = make_story(sources=2)
    make_article(source=mx, title_en="Lithium royalties rise", story=story, minutes_ago=1)
    make_article(source=mx, title_en="Peso gains on exports", url="", story=story, minutes_ago=2)  # a drop
    make_article(source=mx, title_en="Senate passes energy bill", url="", minutes_ago=3)  # a drop, no story
    changing = make_article(source=mx, title_en="Mining law debated", minutes_ago=4)
    pending = make_article(
        source=mx, title_en="", summary_en="", title_orig="Mineros bloquean carretera", minutes_ago=5,
        status=TranslationStatus.PENDING,
    )  # fmt: skip
    make_article(source=make_source(country="FR", language="fr"), title_en="Paris transit strike")  # outside
    view = ["/feeds/rss/?country=MX", "/feeds/atom/?country=MX"]
    urls = [live_server.url + path for path in view] + [f"{live_server.url}/stories/{story.id}/rss/"]
    english = {"Lithium royalties rise", "Peso gains on exports", "Senate passes energy bill", "Mining law debated"}

    first = reload(tmp_path, urls)
    for url in urls[:2]:
        assert {title for _, title, _ in first[url]} == english, url  # the pending Spanish title is held back
    assert {title for _, title, _ in first[urls[2]]} == {"Lithium royalties rise", "Peso gains on exports"}
    for url, items in first.items():
        links = [link for _, _, link in items]
        assert len(set(links)) == len(links), url  # one distinct link per item
        assert live_server.url + "/" not in links, url  # never the site root

    again = reload(tmp_path, urls)
    assert {url: sorted(items) for url, items in again.items()} == {url: sorted(items) for url, items in first.items()}

    Article.objects.filter(pk=changing.pk).update(title_en="Mining law passed", updated_at=timezone.now())
    moment = timezone.now() - timedelta(seconds=700)
    Article.objects.filter(pk=pending.pk).update(fetched_at=moment, updated_at=moment)  # its hold is over
    changed = reload(tmp_path, urls)
    for url in urls[:2]:
        titles = [title for _, title, _ in changed[url]]
        assert "Mining law passed" in titles and "Mining law debated" not in titles, url  # changed in place
        assert "[Not translated yet, ES] Mineros bloquean carretera" in titles, url  # marked as such
        assert len(titles) == len(set(titles)) == 5, url
