"""Graded pairs with a soft word match: each term of one side matched to its nearest term of the other.

    DEBUG=true NEWSDESK_COVERAGE_SEMANTIC_MODEL=multilingual-use-v3 .venv/bin/python bench/pairs_soft.py [FILE]
    DEBUG=true NEWSDESK_COVERAGE_SEMANTIC_MODEL=multilingual-use-v3 .venv/bin/python bench/pairs_soft.py \
        --clustering FILE [FILE ...]

A measurement, not a feature (docs/benchmarks.md, h27sem). The shipped word
score is a cosine of idf-weighted stem vectors: exact matches only, so blind
across languages and to inflection beyond the stem. Here the term cosine of
the doc-to-doc similarity (``engine._doc_similarity``, hence the pair score
``evaluate.pairs_score`` and the clustering's candidate scores; the story
centroids stay exact) is replaced by a soft one. A term's word vector is USE
v3's embedding of a word (the most frequent surface form of its stem in the
files read); a term of A is matched to its most similar term of B when
their cosine reaches a threshold (identical stems match at 1). Measures: the
soft cosine (sum over A's terms of a_t * s(t, u*) * b_u*, averaged with B's
direction; the exact cosine when only identical stems match) and an
idf-weighted BERTScore F. Word vectors: the full encoder on the word alone,
raw or centred on a mean word vector (of the file's words, of half A's, or
of a fixed sample of the encoder's own vocabulary), or its token table (the
mean of the word's pieces, centred).

The first form prints Pearson / AUC of graded pairs on the whole file, its
halves and per language pair for each variant, the variant chosen on half A
read on half B with a bootstrap of its gain, and the cost of word vectors.
``--clustering`` runs ``eval_coverage --halves`` on the files with one
variant (``--source``, ``--threshold``) in place.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora" / "coverage"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")


def surfaces_of(texts) -> dict[str, str]:
    """Each stem's most frequent surface form in the texts (lower case, accents kept: what USE reads)."""
    from newsdesk.coverage.text import _TOKEN, STOPWORDS, _stem, _word

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for m in _TOKEN.finditer((text or "").replace("_", " ")):
            w = _word(m.group(), False)
            if not w or w[0] in STOPWORDS or len(w[0]) < 3 or w[0][0].isdigit():
                continue
            counts[_stem(w[0])][m.group().lower()] += 1
    return {s: c.most_common(1)[0][0] for s, c in counts.items()}


def centre(vecs, mean):
    import numpy as np

    out = vecs - mean
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def cached(path: Path, make):
    import numpy as np

    if path.is_file():
        return np.load(path)
    got = np.asarray(make(), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, got)
    return got


def vocabulary_vectors(cache_dir: Path):
    """USE vectors of every 20th word piece of its vocabulary (4+ letters): a fixed mean a product could ship."""
    from newsdesk.coverage.semantic import encoder

    pieces = encoder().model._tokenizer._pieces
    words = [w[1:] for w in pieces if w.startswith("\u2581") and w[1:].isalpha() and len(w) > 4][::20]
    return cached(cache_dir / "pairs-soft-vocab.npy", lambda: encoder().embed(words))


def soft_cosine(vecs, index, *, thr, measure="softcos", blend=1.0, mutual=False, top=0):
    """A term cosine in place of ``engine._cosine``: exact where no vectors are known."""
    import numpy as np

    from newsdesk.coverage import engine

    exact = engine._cosine

    def cosine(a, b):
        base = exact(a, b)
        ka = [k for k in a if k in index]
        kb = [k for k in b if k in index]
        if top:  # only the most distinctive terms take part in soft matches
            ka = sorted(ka, key=lambda k: -a[k])[:top]
            kb = sorted(kb, key=lambda k: -b[k])[:top]
        if not ka or not kb:
            return base
        sim = vecs[[index[k] for k in ka]] @ vecs[[index[k] for k in kb]].T
        sim = np.where(sim >= thr, sim, 0.0)
        kb_arr = np.array(kb)
        for i, k in enumerate(ka):  # identical stems match at 1
            if k in b:
                sim[i] = np.where(kb_arr == k, 1.0, sim[i])
        if mutual:  # keep a match only when each term is the other's best
            best_a, best_b = sim.argmax(axis=1), sim.argmax(axis=0)
            keep = np.zeros_like(sim, dtype=bool)
            keep[np.arange(len(ka)), best_a] = True
            keep &= best_b[None, :] == np.arange(len(ka))[:, None]
            sim = np.where(keep | (sim >= 1.0), sim, 0.0)
        wa = np.array([a[k] for k in ka])
        wb = np.array([b[k] for k in kb])
        ja, jb = sim.argmax(axis=1), sim.argmax(axis=0)
        ma, mb = sim[np.arange(len(ka)), ja], sim[jb, np.arange(len(kb))]
        if measure == "softcos":
            # terms without a vector (dense-script pieces, figures) and terms past ``top`` match exactly only
            soft_keys = set(ka) | set(kb)
            extra = sum(a[k] * b[k] for k in a if k in b and k not in soft_keys)
            val = min(1.0, 0.5 * (float(np.sum(wa * ma * wb[ja])) + float(np.sum(wb * mb * wa[jb]))) + extra)
            return (1 - blend) * base + blend * max(val, base)
        r = float(np.sum(wa * ma) / np.sum(wa))  # idf-weighted BERTScore F
        p = float(np.sum(wb * mb) / np.sum(wb))
        val = 0.0 if r + p == 0 else 2 * r * p / (r + p)
        return (1 - blend) * base + blend * val

    return cosine


class DocToDoc:
    """Put a term cosine in place for the doc-to-doc similarity only (story centroids stay exact)."""

    def __init__(self, cosine) -> None:
        from newsdesk.coverage import engine

        self.engine, self.cosine, self.local = engine, cosine, threading.local()
        self.exact, self.doc_similarity = engine._cosine, engine._doc_similarity
        self.calls, self.seconds = 0, 0.0

    def __enter__(self):
        def patched_cosine(a, b):
            if getattr(self.local, "on", False) and a is not None and isinstance(a, dict):
                self.calls += 1
                t0 = time.process_time()
                try:
                    return self.cosine(a, b)
                finally:
                    self.seconds += time.process_time() - t0
            return self.exact(a, b)

        def patched_doc_similarity(a, b, *, params):
            self.local.on = True
            try:
                return self.doc_similarity(a, b, params=params)
            finally:
                self.local.on = False

        self.engine._cosine, self.engine._doc_similarity = patched_cosine, patched_doc_similarity
        return self

    def __exit__(self, *exc) -> None:
        self.engine._cosine, self.engine._doc_similarity = self.exact, self.doc_similarity


def word_vectors(texts, cache_dir: Path, name: str):
    from newsdesk.coverage.semantic import encoder

    surface = surfaces_of(texts)
    stems = sorted(surface)
    index = {s: i for i, s in enumerate(stems)}
    t0 = time.process_time()
    vecs = cached(
        cache_dir / f"pairs-soft-{name}-{len(stems)}.npy", lambda: encoder().embed([surface[s] for s in stems])
    )
    return surface, stems, index, vecs, time.process_time() - t0


def clustering(files: list[Path], *, source: str, thr: float, cache_dir: Path) -> int:
    from django.core.management import call_command

    from newsdesk.coverage.evaluate import Pair, corpus_read

    texts = []
    for f in files:
        for it in corpus_read(f):
            texts += [it.a_title, it.a_body, it.b_title, it.b_body] if isinstance(it, Pair) else [it.title, it.body]
    _, stems, index, vecs, _ = word_vectors(texts, cache_dir, "clustering")
    if source == "centred (vocabulary)":
        vecs = centre(vecs, vocabulary_vectors(cache_dir).mean(axis=0))
    print(f"{len(stems)} stems with a surface form; soft cosine: {source}, threshold {thr}", flush=True)
    with DocToDoc(soft_cosine(vecs, index, thr=thr)) as patch:
        t0 = time.process_time()
        call_command("eval_coverage", "--halves", *map(str, files))
        total = time.process_time() - t0
    print(
        f"doc-to-doc soft cosines: {patch.calls}, {patch.seconds:.1f} s CPU of {total:.1f} s"
        f" ({patch.seconds / max(patch.calls, 1) * 1e6:.0f} us each, this harness's numpy)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=SHARED / "semeval2022_pairs.jsonl")
    parser.add_argument("--clustering", nargs="+", type=Path, help="run eval_coverage --halves on these files")
    parser.add_argument("--source", default="centred (vocabulary)", choices=("encoder", "centred (vocabulary)"))
    parser.add_argument("--threshold", type=float, default=0.6)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from newsdesk.coverage.cluster import coverage_params
    from newsdesk.coverage.evaluate import PAIR_SAME_AT_MOST, corpus_read, pairs_score, pearson, roc_auc
    from newsdesk.coverage.semantic import encoder
    from newsdesk.coverage.text import _TOKEN, _stem, _word, text_features
    from newsdesk.coverage.vectorcache import vectors_cached

    cache_dir = Path(settings.VAR_DIR) / "cache"
    if args.clustering:
        return clustering(args.clustering, source=args.source, thr=args.threshold, cache_dir=cache_dir)

    pairs = corpus_read(args.file)
    params = coverage_params()
    embed = vectors_cached(encoder().embed, path=cache_dir / "coverage-vectors.npz")
    texts = [t for p in pairs for t in (p.a_title, p.a_body, p.b_title, p.b_body)]
    surface, stems, index, use_vecs, _ = word_vectors(texts, cache_dir, "pairs")
    print(f"{len(pairs)} pairs, {len(stems)} stems with a surface form")

    be = encoder().model._model  # the token table: a word is the mean of its pieces' rows
    rows = []
    for s in stems:
        ids = np.array(be.sp.encode(surface[s], out_type=int), dtype=np.int64)
        ch = ids % 17
        rows.append((be.table[ids].astype(np.float32) * be.scale[ch, None] + be.lo[ch, None]).mean(axis=0))
    tab = np.array(rows)
    vocab_vecs = vocabulary_vectors(cache_dir)
    half_a = set()
    for p in pairs[0::2]:
        for text in (p.a_title, p.a_body, p.b_title, p.b_body):
            for m in _TOKEN.finditer((text or "").replace("_", " ")):
                if w := _word(m.group(), False):
                    half_a.add(_stem(w[0]))
    in_a = [index[s] for s in stems if s in half_a]
    # Single-word vectors share a large common direction (unrelated words read 0.3-0.8): centring on a
    # mean word vector spreads them.
    sources = {
        "encoder": use_vecs,
        "table": centre(tab, tab.mean(axis=0)),
        "centred (file)": centre(use_vecs, use_vecs.mean(axis=0)),
        "centred (half A)": centre(use_vecs, use_vecs[in_a].mean(axis=0)),
        "centred (vocabulary)": centre(use_vecs, vocab_vecs.mean(axis=0)),
    }
    print(f"vocabulary mean: {len(vocab_vecs)} word pieces; half A's words: {len(in_a)}")

    gold = np.array([-p.overall for p in pairs])
    same = [p.overall <= PAIR_SAME_AT_MOST for p in pairs]
    halves = (list(range(0, len(pairs), 2)), list(range(1, len(pairs), 2)))
    groups: dict[str, list[int]] = defaultdict(list)
    for n, p in enumerate(pairs):
        groups["-".join(sorted({p.a_language or "?", p.b_language or "?"}))].append(n)
    order = sorted(groups, key=lambda g: -len(groups[g]))

    def figures(scores, idx):
        xs = [float(scores[i]) for i in idx]
        return pearson(xs, [float(gold[i]) for i in idx]), roc_auc(xs, [same[i] for i in idx])

    print("| variant | whole | half A | half B | " + " | ".join(f"{g} ({len(groups[g])})" for g in order) + " |")
    print("|---|---|---|---|" + "---|" * len(order))

    def row(name, scores):
        whole = figures(scores, list(range(len(pairs))))
        cells = [f"{r:.3f} / {a:.3f}" for r, a in (whole, *(figures(scores, h) for h in halves))]
        per = [f"{figures(scores, groups[g])[0]:.3f}" for g in order]
        print(f"| {name} | " + " | ".join(cells + per) + " |", flush=True)

    shipped = np.array(pairs_score(pairs, params=params, embed=embed))
    row("shipped", shipped)
    cross = np.array([(p.a_language or "?") != (p.b_language or "?") for p in pairs])
    grid = [("table", thr, "softcos", False, 0, 1.0) for thr in (0.6, 0.8)]
    grid += [("encoder", thr, m, False, 0, 1.0) for thr in (0.5, 0.7, 0.8, 0.9) for m in ("softcos", "bertF")]
    grid += [("encoder", 0.8, "softcos", False, 0, 0.5), ("encoder", 0.7, "softcos", True, 20, 1.0)]
    grid += [
        (src, thr, "softcos", mutual, top, 1.0)
        for src in ("centred (file)", "centred (half A)", "centred (vocabulary)")
        for thr in (0.5, 0.6, 0.7)
        for mutual, top in ((False, 0), (True, 0), (True, 20))
    ]
    results = {}
    for src, thr, measure, mutual, top, blend in grid:
        cosine = soft_cosine(sources[src], index, thr=thr, measure=measure, blend=blend, mutual=mutual, top=top)
        with DocToDoc(cosine):
            scores = np.array(pairs_score(pairs, params=params, embed=embed))
        name = f"{src} {measure} thr {thr}" + (f" blend {blend}" if blend < 1 else "")
        name += (" mutual" if mutual else "") + (f" top {top}" if top else "")
        row(name, scores)
        results[name] = scores
    # Chosen on half A alone (Pearson; the file's own mean left out), read on half B; its gain under resampling.
    best = max((n for n in results if "file" not in n), key=lambda n: figures(results[n], halves[0]))
    scores = results[best]
    row(f"chosen on half A: {best}, cross-language pairs only", np.where(cross, scores, shipped))
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(1000):
        d = list(rng.integers(0, len(pairs), len(pairs)))
        new, old = figures(scores, d), figures(shipped, d)
        gains.append([new[0] - old[0], new[1] - old[1]])
    lo, hi = np.percentile(np.array(gains), [2.5, 97.5], axis=0)
    b_new, b_old = figures(scores, halves[1]), figures(shipped, halves[1])
    print(
        f"chosen on half A: {best}; half B pearson {b_old[0]:.3f} -> {b_new[0]:.3f}, auc {b_old[1]:.3f} -> {b_new[1]:.3f};"
        f" 95% bootstrap of the gain on the whole file: pearson [{lo[0]:+.3f}, {hi[0]:+.3f}],"
        f" auc [{lo[1]:+.3f}, {hi[1]:+.3f}]"
    )

    # The cost a product would pay: one encoder call per word not yet cached, and a soft cosine per comparison.
    feats = [
        text_features(title=t, body=b, grams=False)
        for p in pairs[:100]
        for t, b in ((p.a_title, p.a_body), (p.b_title, p.b_body))
    ]
    terms = np.mean([len(f.terms) for f in feats])
    words = [surface[s] for s in stems[:: max(1, len(stems) // 2000)]][:2000]
    t0 = time.process_time()
    for i in range(0, len(words), 64):
        encoder().embed(words[i : i + 64])
    per_word = (time.process_time() - t0) / len(words) * 1000
    print(
        f"cost: {terms:.0f} terms per text (mean), encoder {per_word:.2f} ms CPU per new word (batches of 64):"
        f" {terms * per_word:.1f} ms per article with no word cached"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
