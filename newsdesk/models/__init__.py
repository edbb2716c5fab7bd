"""Newsdesk models, one module per entity."""

from .alerts import Alert, AlertCovered, AlertEvent, AlertMetric
from .articles import Article, TranslationStatus
from .coverage import (
    CoverageBoilerplate,
    CoverageDoc,
    CoverageEmbedding,
    CoveragePosting,
    CoverageStory,
    CoverageTerm,
)
from .decisions import StoryDecision, StoryDecisionKind
from .delivery import Delivery, DeliveryAttempt, DeliveryStatus, Destination, DestinationKind
from .desks import ApiToken, DeskVisit, FeedToken, SavedView
from .drops import DropFile
from .fetch import FetchAttempt
from .ops import DeadLetter, Heartbeat, TaskAttempt
from .sources import Source, SourceKind, SourceState
from .stories import Story
from .translation import ProviderUsage, Translation
from .websub import HubState, SourceHub, WebSubSubscription

__all__ = [
    "Alert",
    "AlertCovered",
    "AlertEvent",
    "AlertMetric",
    "ApiToken",
    "Article",
    "CoverageBoilerplate",
    "CoverageDoc",
    "CoverageEmbedding",
    "CoveragePosting",
    "CoverageStory",
    "CoverageTerm",
    "DeadLetter",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "DeskVisit",
    "Destination",
    "DestinationKind",
    "DropFile",
    "FeedToken",
    "FetchAttempt",
    "Heartbeat",
    "HubState",
    "ProviderUsage",
    "SavedView",
    "Source",
    "SourceHub",
    "SourceKind",
    "SourceState",
    "Story",
    "StoryDecision",
    "StoryDecisionKind",
    "TaskAttempt",
    "Translation",
    "TranslationStatus",
    "WebSubSubscription",
]
