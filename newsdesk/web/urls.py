from django.urls import path

from . import feeds, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("stories/<int:pk>/", views.story_detail, name="story"),
    path("feeds/rss/", feeds.ArticleFeed(), name="feed-rss"),
]
