"""Sentence embeddings kept on disk by text digest, so an evaluation embeds each text once.

``eval_coverage`` (and the slow corpus tests that run it) reads whole
corpora; the model is by far their largest cost and its output depends only
on the model and the text. The digest is :func:`~newsdesk.coverage.semantic.
text_digest` (model name and text), so vectors of another model or of
changed text are never reused. Production never reads this file: articles
keep their vectors in ``CoverageEmbedding``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .semantic import text_digest

Embedder = Callable[[list[str]], Any]


def vectors_cached(embed: Embedder, *, path: Path) -> Embedder:
    """``embed`` behind a file of vectors by digest: only texts never seen are embedded, then the file is saved.

    The file is replaced atomically (written beside it, then renamed), so a
    run stopped halfway or two runs at once leave a readable file.
    """
    import numpy as np

    known: dict[str, Any] = {}
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                known = dict(zip(data["digests"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            known = {}  # unreadable: rebuilt from scratch

    def cached(texts: list[str]) -> Any:
        digests = [text_digest(t) for t in texts]
        missing = {d: t for d, t in zip(digests, texts, strict=True) if d not in known}
        if missing:
            for digest, vec in zip(missing, embed(list(missing.values())), strict=True):
                known[digest] = np.asarray(vec, dtype=np.float32)
            _save(path, known)
        if not texts:
            return embed([])
        return np.stack([known[d] for d in digests])

    return cached


def _save(path: Path, known: dict[str, Any]) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    dims = {v.shape for v in known.values()}
    if len(dims) != 1:  # vectors of two models under one file: keep the latest shape only
        shape = next(reversed(known.values())).shape
        known = {d: v for d, v in known.items() if v.shape == shape}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, digests=np.array(list(known), dtype="U32"), vectors=np.stack(list(known.values())))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
