"""newsdesk.ingest.responses: the one mapping from a fetched response to a poll outcome."""

from __future__ import annotations

import hashlib

import pytest

from newsdesk.ingest.fetch import FetchResult
from newsdesk.ingest.responses import Verdict, response_classify

BODY = b"<rss/>"
BODY_HASH = hashlib.sha256(BODY).hexdigest()


def _result(status: int, body: bytes = BODY, **hints) -> FetchResult:
    return FetchResult(
        url="https://example.org/f", final_url="https://example.org/f", status=status, body=body, **hints
    )


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (304, Verdict.NOT_MODIFIED),
        (410, Verdict.GONE),
        (429, Verdict.THROTTLED),
        (503, Verdict.THROTTLED),
        (401, Verdict.HTTP_ERROR),
        (403, Verdict.HTTP_ERROR),
        (404, Verdict.HTTP_ERROR),
        (500, Verdict.HTTP_ERROR),
        (502, Verdict.HTTP_ERROR),
        (101, Verdict.HTTP_ERROR),
        (200, Verdict.CHANGED),
        (203, Verdict.CHANGED),
        # A 3xx the fetcher did not follow (no Location) still carries a body.
        (300, Verdict.CHANGED),
    ],
)
def test_each_status_has_one_verdict(status, verdict):
    assert response_classify(result=_result(status), content_hash="").verdict is verdict


def test_the_same_body_again_is_unchanged_and_a_new_one_changed():
    same = response_classify(result=_result(200), content_hash=BODY_HASH)
    assert same.verdict is Verdict.UNCHANGED and same.body_hash == BODY_HASH
    other = response_classify(result=_result(200, b"<rss>new</rss>"), content_hash=BODY_HASH)
    assert other.verdict is Verdict.CHANGED and other.body_hash != BODY_HASH


def test_an_error_carries_no_body_hash_and_server_hints_are_whole_seconds():
    throttled = response_classify(
        result=_result(429, retry_after_seconds=12.2, max_age_seconds=600), content_hash=BODY_HASH
    )
    assert throttled.body_hash == ""
    assert (throttled.retry_after, throttled.max_age) == (13, 600)  # never sooner than the server asked
    assert response_classify(result=_result(200), content_hash="").retry_after is None
