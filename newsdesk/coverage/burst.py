"""Refinement soon after a burst, not at beat's next tick.

The live assignment is greedy; refinement (:mod:`newsdesk.coverage.refine`)
repairs what it glued or scattered. Beat runs a pass over the last 48 hours
every ``NEWSDESK_COVERAGE_REFINE_MINUTES``; after a burst (a new install's
first polls, the morning's feeds, a drop of 10,000 items) that left wrong
groups on the desk for up to those 10 minutes. So the enrichment batches also
ask for a pass over the stories they touched, once the burst quiets:

1. **Note.** Each enrichment batch that assigned articles records, in Redis,
   when it finished and how many it assigned, and sends one ``refine_burst``
   message (countdown ``quiet_seconds``) unless one is already pending
   (:func:`burst_note`; a flag with an expiry).
2. **Wait for quiet.** That task runs on its own queue (``refine``, the last
   lane: newsdesk/ops/lanes.py), so a worker takes it only when no poll,
   drop or enrichment message waits, and it defers itself again while
   enrichment messages wait or the last batch finished less than
   ``quiet_seconds`` ago; during a long burst it runs anyway once
   ``burst_articles`` were assigned since the last pass (:func:`burst_wait`).
   Fewer than ``min_articles`` since the last pass are no burst: a trickle
   waits for beat's tick.
3. **Refine what was touched.** The pass reads the stories assigned to since
   the last pass *from the database* (their ``updated_at``, with a margin),
   and re-examines them with their neighbours, the window's stories sharing
   a core term with them (:func:`refine_scope`): what a split could leave and
   a merge could join (:func:`~newsdesk.coverage.dbrefine.stories_refine_recent`).
   A pass that moved articles is followed by up to ``FOLLOW_PASSES`` more
   over what it changed, until one moves nothing.

Redis only says *when*; the database says *what*. A lost message or a lost
flag costs the pass's promptness, never a story: the flag expires, the next
batch asks again, and beat's pass covers the whole window anyway. A message
delivered twice finds nothing touched since the first run, or a fixed point,
and writes nothing. Two passes never run at once (a lock, dbrefine.py), on
any number of machines.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .engine import Doc
from .refine import RefineParams, RefineSchedule, Weights

log = logging.getLogger(__name__)

_PREFIX = "newsdesk:coverage:refine:"
_LAST = _PREFIX + "last"  # when the last enrichment batch that assigned articles finished
_COUNT = _PREFIX + "count"  # articles assigned since the last pass began
_DUE = _PREFIX + "due"  # a refine_burst message is on its way
# A pending flag outlives any wait but not a lost message for long (beat's tick covers that one).
DUE_TTL_SECONDS = 600
# A pass that moved articles is followed by at most this many more over what it touched: one
# pass stops after a few rounds (refine.RefineParams.max_rounds), and after a cold burst of
# 2,000 items the second and third still move a few per cent of them.
FOLLOW_PASSES = 2


@dataclass(frozen=True, slots=True)
class BurstParams:
    quiet_seconds: float = 10.0  # 0: no pass after bursts (beat's stays)
    burst_articles: int = 5000
    # Fewer articles assigned since the last pass are no burst: a trickle waits for beat's tick
    # (a pass after every lone article splits small stories before their next reports arrive).
    min_articles: int = 50

    @property
    def enabled(self) -> bool:
        return self.quiet_seconds > 0


def burst_params() -> BurstParams:
    from django.conf import settings

    return BurstParams(
        quiet_seconds=settings.NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS,
        burst_articles=settings.NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES,
        min_articles=settings.NEWSDESK_COVERAGE_REFINE_BURST_MIN_ARTICLES,
    )


def _redis():
    from newsdesk.redisconn import redis_client

    return redis_client(timeout=2.0)


def burst_note(*, articles: int, params: BurstParams, now: float | None = None) -> bool:
    """An enrichment batch assigned ``articles``: record it; True when the caller must send ``refine_burst``.

    A Redis that cannot answer only delays the pass to beat's tick (False).
    """
    if articles <= 0 or not params.enabled:
        return False
    now = time.time() if now is None else now
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.set(_LAST, repr(now))
        pipe.incrby(_COUNT, articles)
        pipe.set(_DUE, "1", nx=True, ex=DUE_TTL_SECONDS)
        return bool(pipe.execute()[2])
    except Exception:
        log.warning("event=refine_burst_note_failed articles=%s", articles, exc_info=True)
        return False


RUN = "run"
SKIP = "skip"


def burst_wait(*, backlog: int, params: BurstParams, now: float | None = None) -> float | str:
    """Seconds the pending pass should wait again; or ``RUN`` (run it now) or ``SKIP`` (no burst: too
    few articles), both clearing the pending flag.

    It waits while enrichment messages are waiting (``backlog``) or the last
    batch finished less than ``quiet_seconds`` ago, unless ``burst_articles``
    were assigned since the last pass. Quiet after fewer than ``min_articles``
    it skips, and those articles count towards the next burst (or beat's
    pass, which resets the count: :func:`burst_reset`).
    """
    now = time.time() if now is None else now
    try:
        client = _redis()
        last, count = client.mget(_LAST, _COUNT)
        last_at = float(last) if last else 0.0
        assigned = int(count or 0)
        quiet_for = now - last_at
        if assigned < params.burst_articles and (backlog > 0 or quiet_for < params.quiet_seconds):
            client.expire(_DUE, DUE_TTL_SECONDS)
            return max(1.0, params.quiet_seconds - max(0.0, quiet_for)) if backlog == 0 else params.quiet_seconds
        # Cleared before the pass reads anything: a batch finishing meanwhile asks for the next one.
        pipe = client.pipeline(transaction=False)
        pipe.delete(_DUE)
        if assigned >= params.min_articles:
            pipe.decrby(_COUNT, assigned)
        pipe.execute()
        return RUN if assigned >= params.min_articles else SKIP
    except Exception:
        log.warning("event=refine_burst_state_unknown", exc_info=True)
    return RUN


def burst_reset() -> None:
    """Beat's pass over the whole window began: what was assigned before it counts towards no burst."""
    try:
        _redis().delete(_COUNT)
    except Exception:
        log.warning("event=refine_burst_reset_failed", exc_info=True)


def refine_scope(
    docs: Sequence[Doc],
    touched: Iterable[int],
    refine: RefineParams,
    *,
    doc_terms: int = 3,
    weights: Weights | None = None,
) -> list[Doc]:
    """The documents a pass after a burst re-examines: the members of the ``touched`` stories, and of
    every story of ``docs`` whose core terms (the heaviest ``core_terms`` of its members' summed
    vectors, as the merge indexes pieces) include one of the touched stories' core terms or one of
    their members' own ``doc_terms`` heaviest terms (a split piece's core may differ from its
    story's). A term held by more than ``core_postings`` stories finds nothing, as in the merge.
    ``weights``: the documents' weights kept apart (:class:`~newsdesk.coverage.refine.Weights`), read
    one story at a time.
    """
    members: dict[int, list[Doc]] = defaultdict(list)
    for d in docs:
        members[d.story or 0].append(d)
    touched = {s for s in touched if s in members}
    if not touched:
        return []

    def top(weights: dict[str, float], n: int) -> list[str]:
        return [t for t, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]

    postings: dict[str, set[int]] = defaultdict(set)
    cores: dict[int, list[str]] = {}
    own: dict[int, list[str]] = {}  # a touched story's members' own heaviest terms
    for story, ds in members.items():
        summed: dict[str, float] = defaultdict(float)
        with _attached(weights, ds):
            for d in ds:
                for t, w in d.terms.items():
                    summed[t] += w
            if story in touched:
                for d in ds:
                    wanted_docs = top(d.terms, doc_terms)
                    own.setdefault(story, []).extend(wanted_docs)
        cores[story] = top(summed, refine.core_terms)
        for t in cores[story]:
            postings[t].add(story)
    wanted: set[str] = set()
    for story in touched:
        wanted.update(cores[story])
        wanted.update(own.get(story, ()))
    scope = set(touched)
    for t in wanted:
        holders = postings.get(t, ())
        if len(holders) <= refine.core_postings:
            scope.update(holders)
    scope.discard(0)
    return [d for d in docs if (d.story or 0) in scope]


@dataclass(slots=True)
class ReplaySchedule:
    """The production schedule of refinement in a replayed stream (``eval_coverage``).

    Beat's pass over the whole window (:class:`~newsdesk.coverage.refine.RefineSchedule`:
    every ``every_seconds`` of stream time, or every ``every_articles`` in a
    file without times), and the pass after a burst over the stories touched
    since the last pass: when the stream goes quiet (the next article is
    published ``quiet_seconds`` or more later; a file without times never
    does) or once ``burst_articles`` were assigned since the last pass.
    """

    beat: RefineSchedule
    burst: BurstParams
    _since: int = 0

    def after(self, at: float, next_at: float | None) -> list[str]:
        """The passes to run after the article published at ``at`` (``next_at``: the next one's time,
        None after the last): ``"burst"`` and/or ``"full"``, in that order."""
        self._since += 1
        passes: list[str] = []
        full = self.beat.due(at)
        if self.burst.enabled and not full and self._since >= self.burst.min_articles:
            quiet = self.beat.timed and (next_at is None or next_at - at >= self.burst.quiet_seconds)
            if next_at is None and not self.beat.timed:
                quiet = True  # the stream ends: production's workers go quiet too
            if quiet or self._since >= self.burst.burst_articles:
                passes.append("burst")
        if full or next_at is None:
            passes.append("full")  # beat's next tick after the last article
        if passes:
            self._since = 0
        return passes


@contextmanager
def _attached(weights: Weights | None, docs: Sequence[Doc]) -> Iterator[None]:
    if weights is None:
        yield
    else:
        with weights.attached(docs):
            yield
