"""The evaluation's vector cache: each text is embedded once per model, across runs."""

from __future__ import annotations

import pytest

from newsdesk.coverage import semantic
from newsdesk.coverage.vectorcache import vectors_cached

np = pytest.importorskip("numpy", reason="numpy comes with the default semantic backend")


class CountingEmbedder:
    """Stands in for a model: a vector from the text's characters, and a record of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, texts: list[str]):
        self.asked += texts
        out = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_second_run_embeds_only_new_texts_and_gets_the_same_vectors(tmp_path, settings):
    path = tmp_path / "cache" / "vectors.npz"
    first = CountingEmbedder()
    before = vectors_cached(first, path=path)(["quake in Sumatra", "rates rise", "quake in Sumatra"])
    assert first.asked == ["quake in Sumatra", "rates rise"] and path.is_file()
    second = CountingEmbedder()
    after = vectors_cached(second, path=path)(["rates rise", "quake in Sumatra", "new text"])
    assert second.asked == ["new text"]
    assert after[0] == pytest.approx(before[1]) and after[1] == pytest.approx(before[0])
    # Another model's vectors are another digest: nothing is reused across models.
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.MINILM.key
    third = CountingEmbedder()
    vectors_cached(third, path=path)(["rates rise"])
    assert third.asked == ["rates rise"]


def test_an_unreadable_cache_file_is_rebuilt(tmp_path):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not a numpy file")
    embed = CountingEmbedder()
    assert vectors_cached(embed, path=path)(["a"]).shape == (1, 3)
    assert embed.asked == ["a"]
    assert vectors_cached(CountingEmbedder(), path=path)(["a"]).shape == (1, 3)
