"""Translate articles again (admin's "re-translate selected").

The articles turn pending at once, with a fresh attempt count, so the card
shows the badge until the worker is done; sending the work is
``newsdesk.tasks.articles_retranslate_enqueue``'s job. The update moves the
feed version (``FeedShownQuerySet``), since feeds filter on the status.
"""

from __future__ import annotations

from collections.abc import Iterable

from newsdesk.models import Article, TranslationStatus


def articles_retranslate_mark(*, article_ids: Iterable[int]) -> list[int]:
    """Mark the articles pending with a fresh attempt count; return the ids that exist."""
    articles = Article.objects.filter(id__in=list(article_ids))
    ids = list(articles.order_by("id").values_list("id", flat=True))
    articles.update(translation_status=TranslationStatus.PENDING, translation_error="", translation_attempts=0)
    return ids
