"""An article's own page: the permalink every feed item and card can point to.

Every article has one, in every state (pending translation, a drop with no
original URL, not yet in a story), so a feed item never has to link to the
site root. The page shows the article's card, its story (if any) and where
the original and its full text are. Access is the desk's rule (a page, see
newsdesk/accounts/middleware.py).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from newsdesk.models import Article

from .cards import cards_from
from .filters import CARD_COLUMNS


def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    row = Article.objects.filter(pk=article_id).values_list(*CARD_COLUMNS, "fetched_at", named=True).first()
    if row is None:
        raise Http404("No such article")
    (card,) = cards_from([row], permalinks=False)
    context = {"article": row, "card": card, "has_full_text": _has_full_text(article_id)}
    return render(request, "newsdesk/article.html", context)


def _has_full_text(pk: int) -> bool:
    return Article.objects.filter(pk=pk).exclude(content_orig="", content_en="").exists()
