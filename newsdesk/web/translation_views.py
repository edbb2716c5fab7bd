"""On-demand translation of an article's full content (linked from the card).

GET /articles/<id>/translation/ answers an HTML fragment (paragraphs, every
character escaped: translations are untrusted text), or JSON with
``?format=json``. The first request translates (one provider attempt under
our deadline, no retries: a reader is waiting) and caches; later ones are
database reads. When providers are unavailable it answers 503 with the
original text, so the reader always has something to read.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from newsdesk.enrich.pipeline import article_translate_content, content_plain_text
from newsdesk.enrich.translate import TranslationFailed, TranslationPending
from newsdesk.models import Article


def _fragment(*, text: str, status: str, note: str = "") -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    badge = f'<p class="badge badge-{escape(status)}">{escape(note)}</p>' if note else ""
    return f'<div class="article-translation" data-status="{escape(status)}">{badge}{paragraphs}</div>'


@require_GET
def article_translation(request: HttpRequest, article_id: int) -> HttpResponse:
    article = Article.objects.filter(id=article_id).first()
    if article is None:
        raise Http404("No such article")
    status, http_status, note = "done", 200, ""
    try:
        text = article_translate_content(article=article, retries=0)
    except (TranslationPending, TranslationFailed) as exc:
        # The reason is already scrubbed of secrets; show the original meanwhile.
        pending = isinstance(exc, TranslationPending)
        status, http_status = ("pending", 503) if pending else ("failed", 502)
        note = "Translation pending: showing the original." if pending else "Translation failed: showing the original."
        text = content_plain_text(html=article.content_orig)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {"article": article.id, "status": status, "language": article.language, "content": text},
            status=http_status,
        )
    response = HttpResponse(_fragment(text=text, status=status, note=note), status=http_status)
    response["Content-Type"] = "text/html; charset=utf-8"
    return response
