"""What an alert sends: the documented webhook JSON (with Slack's ``text``) and the e-mail.

The webhook body (docs/alerts.md documents every field)::

    {
      "id": "<event uuid, the same on every attempt>",
      "type": "story.new" | "story.spreading",
      "created_at": "2026-12-06T10:00:00+00:00",
      "text": "<one line for Slack, Mattermost, Rocket.Chat, Teams' Slack mode>",
      "alert": {"id": 1, "name": "...", "metric": "countries", "threshold": 3},
      "view": {"id": 2, "name": "...", "query": "lang=es", "url": "..."},
      "story": {"id": 9, "headline": "...", "url": "...", "value": 3,
                "articles": 4, "outlets": 4, "countries": ["MX", "FR", "BR"], "languages": ["es", "fr", "pt"],
                "first_published_at": "...", "last_published_at": "...",
                "members": [{"id": 1, "title": "...", "url": "...", "outlet": "...", "country": "MX",
                             "language": "es", "published_at": "..."}]}
    }
"""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.urls import reverse

from newsdesk.ingest.urls import url_is_http
from newsdesk.models import Alert, AlertMetric, Article, Story

MEMBERS_SHOWN = 10
_UNITS = {
    AlertMetric.OUTLETS: "outlets",
    AlertMetric.COUNTRIES: "countries",
    AlertMetric.LANGUAGES: "languages",
}


def absolute_url(path: str) -> str:
    """``path`` under NEWSDESK_BASE_URL (the desk's public address), or the path alone when unset."""
    return settings.NEWSDESK_BASE_URL.rstrip("/") + path


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_type(metric: str) -> str:
    return "story.new" if metric == AlertMetric.NEW_STORY else "story.spreading"


def slack_text(*, alert: Alert, story: Story, threshold: int, url: str) -> str:
    """One line in Slack's mrkdwn (``<url|label>``): what happened, to which story, which alert."""
    headline = (story.headline or f"Story {story.id}").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    link = f"<{url}|{headline}>" if url_is_http(url) else headline
    what = "New story" if alert.metric == AlertMetric.NEW_STORY else f"Covered in {threshold}+ {_UNITS[alert.metric]}"
    return f"📡 {what}: {link} — alert “{alert.name}” on “{alert.saved_view.name}”"


def event_payload(*, alert: Alert, story: Story, threshold: int, value: int, event_id: UUID, now: datetime) -> dict:
    members = list(
        Article.objects.filter(story_id=story.id)
        .order_by("published_at", "id")
        .values_list("id", "title_en", "title_orig", "url", "source__name", "country", "language", "published_at")
    )
    story_url = absolute_url(reverse("story", args=[story.id]))
    view = alert.saved_view
    view_path = reverse("dashboard") + (f"?{view.query}" if view.query else "")
    return {
        "id": str(event_id),
        "type": event_type(alert.metric),
        "created_at": now.isoformat(),
        "text": slack_text(alert=alert, story=story, threshold=threshold, url=story_url),
        "alert": {"id": alert.id, "name": alert.name, "metric": alert.metric, "threshold": threshold},
        "view": {"id": view.id, "name": view.name, "query": view.query, "url": absolute_url(view_path)},
        "story": {
            "id": story.id,
            "headline": story.headline,
            "url": story_url,
            "value": value,
            "articles": len(members),
            "outlets": story.source_count,
            "countries": sorted({m[5] for m in members if m[5]}),
            "languages": sorted({m[6] for m in members if m[6]}),
            "first_published_at": _iso(story.first_published_at),
            "last_published_at": _iso(story.last_published_at),
            "members": [
                {
                    "id": ident,
                    "title": title_en or title_orig,
                    "url": url,
                    "outlet": outlet,
                    "country": country,
                    "language": language,
                    "published_at": _iso(published),
                }
                for ident, title_en, title_orig, url, outlet, country, language, published in members[:MEMBERS_SHOWN]
            ],
        },
    }


def webhook_body(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def email_subject(payload: dict) -> str:
    story = payload["story"]
    if payload["type"] == "story.new":
        return f"[Newsdesk] New story: {story['headline']}"[:300]
    unit = _UNITS.get(payload["alert"]["metric"], "")
    return f"[Newsdesk] {payload['alert']['threshold']}+ {unit}: {story['headline']}"[:300]


def email_body(payload: dict) -> str:
    story = payload["story"]
    lines = [
        payload["text"].replace("📡 ", ""),
        "",
        f"Story: {story['headline']}",
        f"Link: {story['url']}",
        f"Articles: {story['articles']} · outlets: {story['outlets']} · countries: "
        f"{', '.join(story['countries']) or '-'} · languages: {', '.join(story['languages']) or '-'}",
        "",
    ]
    for member in story["members"]:
        lines.append(
            f"- {member['title']} ({member['outlet']}, {member['country'] or '?'}, {member['language'] or '?'})"
        )
        if member["url"]:
            lines.append(f"  {member['url']}")
    lines += [
        "",
        f"Alert “{payload['alert']['name']}” on the saved view “{payload['view']['name']}”.",
        f"Event id: {payload['id']}",
    ]
    return "\n".join(lines) + "\n"
