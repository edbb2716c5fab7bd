from django.urls import path

from . import article, favicon, feeds, health, live, stats, story, story_edit, translation_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("live/", live.dashboard_live, name="dashboard-live"),
    path("stats/", stats.stats, name="stats"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("stories/<int:pk>/", story.story_detail, name="story"),
    path("stories/<int:pk>/rss/", story.StoryFeed(), name="story-rss"),
    # Editors' corrections (POST, editors only).
    path(
        "stories/<int:pk>/articles/<int:article_pk>/split/",
        story_edit.story_article_split_view,
        name="story-article-split",
    ),
    path(
        "stories/<int:pk>/articles/<int:article_pk>/move/",
        story_edit.story_article_move_view,
        name="story-article-move",
    ),
    path("stories/<int:pk>/merge/", story_edit.story_merge_view, name="story-merge"),
    path("stories/decisions/<int:decision_pk>/undo/", story_edit.story_decision_undo_view, name="story-decision-undo"),
    path("articles/<int:article_id>/", article.article_detail, name="article"),
    path(
        "articles/<int:article_id>/translation/",
        translation_views.article_translation,
        name="article-translation",
    ),
    path("feeds/rss/", feeds.ArticleFeed(), name="feed-rss"),
    path("feeds/atom/", feeds.AtomArticleFeed(), name="feed-atom"),
    path("feeds/json/", feeds.JsonArticleFeed(), name="feed-json"),
]
