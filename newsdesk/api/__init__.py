"""The read API under /api/v1/ (django-ninja): articles, stories, sources, saved views."""
