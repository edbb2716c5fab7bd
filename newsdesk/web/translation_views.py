"""An article's full text in English: read it (GET), or ask for it (POST, editors).

GET /articles/<id>/translation/ never calls a provider. It answers what is
stored, honestly: ``done`` with the English text, ``not_needed`` (the
article is in English), ``not_translated`` (with the original text, and for
an editor a form to ask for the translation), or 404 ``no_content`` when the
feed sent no full text. A page by default, the bare HTML fragment with
``?format=fragment`` (every character escaped either way: translations are
untrusted text), JSON with ``?format=json``.

POST (signed-in editors, with the CSRF token) translates now, within the
bounds of ``newsdesk.enrich.ondemand``: per-editor rate, per-request size,
and a capped share of the day's provider budget that leaves ingest's alone.
When providers are unavailable it answers 503 with the original text.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from newsdesk.accounts.roles import user_can_read_desk
from newsdesk.enrich.ondemand import OnDemandRefused, ondemand_translate
from newsdesk.enrich.pipeline import content_plain_text
from newsdesk.enrich.translate import TranslationFailed, TranslationPending
from newsdesk.models import Article

NOTES = {
    "done": "",
    "not_needed": "The article is in English.",
    "not_translated": "Not translated yet: showing the original.",
    "no_content": "This article has no full text (its feed sent only a summary).",
    "pending": "Translation pending: showing the original.",
    "failed": "Translation failed: showing the original.",
    "refused": "",
}


def _fragment(*, request: HttpRequest, article: Article, text: str, status: str, note: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    badge = f'<p class="badge badge-{escape(status)}">{escape(note)}</p>' if note else ""
    form = ""
    if status in ("not_translated", "pending", "failed") and user_can_read_desk(user=request.user):
        form = (
            f'<form method="post" action="{escape(reverse("article-translation", args=[article.id]))}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(get_token(request))}">'
            '<button type="submit">Translate the full text</button></form>'
        )
    return f'<div class="article-translation" data-status="{escape(status)}">{badge}{form}{paragraphs}</div>'


def _answer(
    request: HttpRequest, article: Article, *, status: str, text: str, http_status: int = 200, note: str | None = None
) -> HttpResponse:
    note = NOTES.get(status, "") if note is None else note
    if request.GET.get("format") == "json":
        body = {"article": article.id, "status": status, "language": article.language, "content": text}
        if note:
            body["detail"] = note
        return JsonResponse(body, status=http_status)
    fragment = _fragment(request=request, article=article, text=text, status=status, note=note)
    if request.GET.get("format") == "fragment":
        response = HttpResponse(fragment, status=http_status)
        response["Content-Type"] = "text/html; charset=utf-8"
        return response
    # A page of its own when followed as a link (the article page's "Read the full text").
    context = {"article": article, "title": article.title_en or article.title_orig, "fragment": mark_safe(fragment)}  # noqa: S308 - built from escaped parts
    return render(request, "newsdesk/article_translation.html", context, status=http_status)


def _stored(request: HttpRequest, article: Article) -> HttpResponse:
    """What the database holds; never a provider call (a GET must not spend money)."""
    original = content_plain_text(html=article.content_orig)
    if article.content_en:
        return _answer(request, article, status="done", text=article.content_en)
    if not original:
        return _answer(request, article, status="no_content", text="", http_status=404)
    if article.language == "en":
        return _answer(request, article, status="not_needed", text=original)
    return _answer(request, article, status="not_translated", text=original)


def _translate(request: HttpRequest, article: Article) -> HttpResponse:
    if not user_can_read_desk(user=request.user):
        return _answer(
            request, article, status="refused", text="", http_status=403,
            note="Only signed-in editors may ask for a translation (it spends the shared provider budget).",
        )  # fmt: skip
    original = content_plain_text(html=article.content_orig)
    if article.language == "en" and original and not article.content_en:
        return _answer(request, article, status="not_needed", text=original)
    try:
        result = ondemand_translate(article=article, user_id=request.user.pk)
    except OnDemandRefused as exc:
        status = "no_content" if exc.status == 404 else "refused"
        response = _answer(request, article, status=status, text=original, http_status=exc.status, note=str(exc))
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    except (TranslationPending, TranslationFailed) as exc:
        # The reason is already scrubbed of secrets; show the original meanwhile.
        pending = isinstance(exc, TranslationPending)
        return _answer(
            request, article, status="pending" if pending else "failed", text=original,
            http_status=503 if pending else 502,
        )  # fmt: skip
    return _answer(request, article, status="done", text=result.text)


@require_http_methods(["GET", "HEAD", "POST"])
def article_translation(request: HttpRequest, article_id: int) -> HttpResponse:
    article = Article.objects.filter(id=article_id).first()
    if article is None:
        raise Http404("No such article")
    if request.method == "POST":
        return _translate(request, article)
    return _stored(request, article)
