"""The one filter definition shared by the dashboard and its feeds.

``ArticleFilter.from_query`` validates a query string against an allowlist;
``queryset()`` turns it into the article query. The HTML view and every
feed call these two, so a page and its feed can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import QueryDict

from newsdesk.models import Article

_CODE2 = re.compile(r"^[A-Za-z]{2}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}$")


@dataclass(frozen=True)
class ArticleFilter:
    country: str = ""
    lang: str = ""
    source: int | None = None
    q: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> ArticleFilter:
        """Parse and validate; invalid values are dropped rather than erroring."""
        country = query.get("country", "").strip()
        lang = query.get("lang", "").strip()
        source = query.get("source", "").strip()
        q = query.get("q", "").strip()[:200]
        return cls(
            country=country.upper() if _CODE2.match(country) else "",
            lang=lang.lower() if _LANG.match(lang) else "",
            source=int(source) if source.isdigit() and len(source) < 12 else None,
            q=q,
        )

    def queryset(self) -> QuerySet[Article]:
        qs = Article.objects.all()
        if self.country:
            qs = qs.filter(country=self.country)
        if self.lang:
            qs = qs.filter(language=self.lang)
        if self.source is not None:
            qs = qs.filter(source_id=self.source)
        if self.q:
            for word in self.q.split():
                qs = qs.filter(
                    Q(title_en__icontains=word)
                    | Q(summary_en__icontains=word)
                    | Q(title_orig__icontains=word)
                    | Q(summary_orig__icontains=word)
                )
        return qs.select_related("source", "story").order_by("-published_at", "-id")

    def as_query(self) -> str:
        params = {f.name: getattr(self, f.name) for f in fields(self)}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    @property
    def is_empty(self) -> bool:
        return not self.as_query()
