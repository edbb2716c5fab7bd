"""Newsdesk models, one module per entity."""

from .articles import Article, TranslationStatus
from .fetch import FetchAttempt
from .ops import Heartbeat
from .sources import Source, SourceKind, SourceState
from .stories import Story
from .translation import Translation

__all__ = [
    "Article",
    "FetchAttempt",
    "Heartbeat",
    "Source",
    "SourceKind",
    "SourceState",
    "Story",
    "Translation",
    "TranslationStatus",
]
