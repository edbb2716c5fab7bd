"""Newsdesk models, one module per entity."""

from .articles import Article, TranslationStatus
from .fetch import FetchAttempt
from .ops import DeadLetter, Heartbeat, TaskAttempt
from .sources import Source, SourceKind, SourceState
from .stories import Story
from .translation import Translation

__all__ = [
    "Article",
    "DeadLetter",
    "FetchAttempt",
    "Heartbeat",
    "Source",
    "SourceKind",
    "SourceState",
    "Story",
    "TaskAttempt",
    "Translation",
    "TranslationStatus",
]
