"""The order in which a worker reading several queues takes their messages.

kombu's Redis transport asks Redis for the next message with one BRPOP over
the worker's queues, and Redis answers from the first of them that holds one.
By default kombu rotates that list after every message (round robin), so a
worker reading every queue (``make run``, ``Procfile``, a one-machine
install) takes a poll batch only after one message of each other busy queue:
with 10,000 articles waiting for enrichment, a cold poll waited behind
enrichment batches at every turn, and polling fell to a tenth of its speed.

``LaneCycle`` (``queue_order_strategy`` in config/settings/queues.py) asks
in one fixed order instead, whatever the order of ``-Q``: the cheap sweeps
(``default``), then polls, then file drops (the stages that bring new items
in, each message bounded), then the fresh enrichment lane (each source's
first batch), then the bulk lane (the rest of a burst), then refinement
(``refine``: passes over recent stories, newsdesk/coverage/burst.py). Work that brings new
items in never waits behind work on items already stored, and a source's
few new items never wait behind another source's burst. A backlog in a
later lane waits only while an earlier lane has messages; the earlier lanes
are bounded by what the dispatcher sends, so it is served between polls.
Production runs one pool per queue set (docs/operations.md) and then the
order only matters inside each pool.
"""

from __future__ import annotations

from kombu.utils.scheduling import priority_cycle

# Lower first. A queue not named here (a renamed poll queue aside) goes between drops and enrich.
LANE_ORDER = {"default": 0, "poll": 1, "drops": 2, "enrich": 3, "enrich_bulk": 4, "refine": 5}
_UNKNOWN = 2.5


def lane_rank(queue: str) -> float:
    from django.conf import settings

    if queue == getattr(settings, "NEWSDESK_POLL_QUEUE", "poll"):
        return LANE_ORDER["poll"]
    return LANE_ORDER.get(queue, _UNKNOWN)


class LaneCycle(priority_cycle):
    """kombu's queue cycle (round_robin_cycle's interface): the queues in lane order, never rotated."""

    def consume(self, n: int) -> list[str]:
        return sorted(self.items, key=lane_rank)[:n]
