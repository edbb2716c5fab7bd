"""When an article is finished, so the English feeds may publish it.

A feed says ``<language>en</language>``; a reader keys items by guid, and
many never update an item they already showed. So an article enters the
English feeds once it is *finished*:

- translated (``done``) or needing no translation (``not_needed``);
- or its translation ``failed``: shown with its original text, its title
  marked "[Translation failed, PT]";
- or it is still ``pending`` ``NEWSDESK_FEED_HOLD_SECONDS`` (default 600)
  after it was stored: shown with its original text, its title marked
  "[Not translated yet, PT]". Its later translation rewrites the item in
  place (same guid, new title and updated date).

The hold starts at ``fetched_at``, set once when the article is first stored
(an edit does not restart it). Every feed class applies ``feed_finished_q``
(``ArticleFeed.feed_queryset``); the marker is ``untranslated_marker``.

A release is a change in what feeds show with no write behind it, so
``articles_release_held`` (on beat, every ``RELEASE_SECONDS``) touches the
articles whose hold ended: their ``updated_at`` moves, which moves the
feeds' version and validators (newsdesk/changes.py) and dates the item's
update at its release.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from newsdesk.models import Article, TranslationStatus

FINISHED = (TranslationStatus.DONE, TranslationStatus.NOT_NEEDED, TranslationStatus.FAILED)
MARKERS = {TranslationStatus.FAILED: "Translation failed", TranslationStatus.PENDING: "Not translated yet"}
RELEASE_SECONDS = 30.0  # beat period of articles_release_held: a release shows at most this late in a 304


def feed_hold() -> timedelta:
    return timedelta(seconds=max(settings.NEWSDESK_FEED_HOLD_SECONDS, 0))


def feed_finished_q(*, now: datetime) -> Q:
    """The articles an English feed may publish at ``now``."""
    return Q(translation_status__in=FINISHED) | Q(fetched_at__lte=now - feed_hold())


def untranslated_marker(*, status: str, title_en: str, language: str) -> str:
    """'[Not translated yet, PT] ' before a title shown in its original language ('' otherwise)."""
    if title_en or status not in MARKERS:
        return ""
    return f"[{MARKERS[status]}{', ' + language.upper() if language else ''}] "


def articles_release_held(*, now: datetime) -> int:
    """Touch the pending articles whose hold ended and that were not touched since: returns how many.

    Safe to repeat and to miss: an article counts as released-and-touched once
    its ``updated_at`` is past its hold's end, so the next run picks up what a
    lost one left.
    """
    hold = feed_hold()
    if not hold:
        return 0
    return Article.objects.filter(
        translation_status=TranslationStatus.PENDING,
        fetched_at__lte=now - hold,
        updated_at__lt=F("fetched_at") + hold,
    ).update(updated_at=now)
