"""The late tier looks for a late report's own names among the story's words, not its names alone: a
Title-Case headline names its story's film or team in words whose capitals do not count (issue #18,
giveme5w1h half B)."""

from __future__ import annotations

from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import text_features
from tests.support.coverage import FILLER

HOUR = 3600.0
DAY = 24 * HOUR

TRAILER = [
    ("First Trailer For Avengers Infinity War Arrives Online",
     "The studio released the first trailer for the next team-up film on Wednesday, showing Thanos gathering the "
     "stones, and producer Kevin Feige said the film opens in May."),
    ("Avengers Infinity War Trailer Breaks Viewing Record",
     "The first trailer was watched 230 million times in a day, the studio said on Thursday, ahead of Kevin "
     "Feige's film opening in May with Thanos as its villain."),
    ("Watch The Avengers Infinity War Trailer Here",
     "Thanos hunts the stones in the first trailer for the film, which producer Kevin Feige called the biggest "
     "crossover the studio has attempted."),
]  # fmt: skip
# Three months on: its most distinctive name, the film's, is in the story's Title-Case headlines only.
TRAILER_LATE = (
    "Second trailer for the superhero film is out",
    "The second trailer for the Avengers film, Infinity War, shows more of Thanos and the stones, three months "
    "after the first, and producer Feige says the film opens a week early.",
)


def test_a_late_report_finds_its_own_names_in_the_words_of_the_story_s_title_case_headlines():
    params = Params()
    assert params.window_hours * HOUR < 90 * DAY
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for n, (title, lead) in enumerate(FILLER * 6, 1):  # enough articles for the story's names to count as rare
        doc_assign(doc_key=n, at=n * 60.0, features=text_features(title=title, body=lead), store=store, params=params)
    stories = set()
    for n, (title, lead) in enumerate(TRAILER, 1000):
        doc_assign(doc_key=n, at=DAY + n, features=text_features(title=title, body=lead), store=store, params=params)
        stories.add(store.story_of(n))
    assert len(stories) == 1
    reports = store.docs([1000, 1001, 1002])
    # The headlines name the film in words, but a Title-Case headline's capitals say nothing of names.
    assert all("avenge" in d.terms and "avenge" not in d.name_stems for d in reports)
    features = text_features(title=TRAILER_LATE[0], body=TRAILER_LATE[1])
    assert "avenge" in features.names
    doc_assign(doc_key=2000, at=DAY + 90 * DAY, features=features, store=store, params=params)
    assert store.story_of(2000) in stories
