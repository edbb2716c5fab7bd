from django.urls import path

from . import favicon, feeds, health, stats, story, translation_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("stats/", stats.stats, name="stats"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("stories/<int:pk>/", story.story_detail, name="story"),
    path("stories/<int:pk>/rss/", story.StoryFeed(), name="story-rss"),
    path(
        "articles/<int:article_id>/translation/",
        translation_views.article_translation,
        name="article-translation",
    ),
    path("feeds/rss/", feeds.ArticleFeed(), name="feed-rss"),
    path("feeds/atom/", feeds.AtomArticleFeed(), name="feed-atom"),
    path("feeds/json/", feeds.JsonArticleFeed(), name="feed-json"),
]
