"""Newsdesk models, one module per entity."""

from .articles import Article, TranslationStatus
from .coverage import CoverageDoc, CoverageEmbedding, CoveragePosting, CoverageStory, CoverageTerm
from .decisions import StoryDecision, StoryDecisionKind
from .desks import FeedToken, SavedView
from .drops import DropFile
from .fetch import FetchAttempt
from .ops import DeadLetter, Heartbeat, TaskAttempt
from .sources import Source, SourceKind, SourceState
from .stories import Story
from .translation import ProviderUsage, Translation

__all__ = [
    "Article",
    "CoverageDoc",
    "CoverageEmbedding",
    "CoveragePosting",
    "CoverageStory",
    "CoverageTerm",
    "DeadLetter",
    "DropFile",
    "FeedToken",
    "FetchAttempt",
    "Heartbeat",
    "ProviderUsage",
    "SavedView",
    "Source",
    "SourceKind",
    "SourceState",
    "Story",
    "StoryDecision",
    "StoryDecisionKind",
    "TaskAttempt",
    "Translation",
    "TranslationStatus",
]
