"""Evaluating the clustering on labelled corpora, as production would run it.

Three shapes, told apart by their columns:

* JSONL articles: ``id``, ``title``, ``text``, ``cluster`` (optional
  ``timestamp``, ``language``, ``source``) -> B-cubed precision/recall/F1;
* the UCI News Aggregator CSV (``title``, ``timestamp_ms``, ``cluster``,
  ``story`` in the original) -> B-cubed;
* JSONL pairs: ``text1``, ``text2``, ``lang1``, ``lang2``, ``Overall``
  (optional ``title1``, ``title2``) -> Pearson and ROC AUC.

Articles are streamed in timestamp order (file order when there is none)
through :func:`newsdesk.coverage.engine.doc_assign` on a
:class:`~newsdesk.coverage.memory.MemoryStore`; pairs are scored with
:func:`newsdesk.coverage.engine.pair_similarity`, the function clustering uses.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import random
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .boilerplate import BoilerplateCounts
from .burst import FOLLOW_PASSES, BurstParams, ReplaySchedule
from .engine import Params, doc_assign, pair_similarity
from .memory import MemoryStore
from .refine import RefineCache, RefineParams, RefineSchedule
from .semantic import embed_text, lead_unrelated
from .semantic import model as semantic_model
from .text import lead_off_topic, page_headline, page_read, text_features

# SemEval 2022 task 8 rates 1 (same story) .. 4 (unrelated); a pair counts as
# "same story" for the AUC when the annotators' mean is on the "same" side.
PAIR_SAME_AT_MOST = 2.5


class CorpusError(ValueError):
    """The file is not one of the shapes eval_coverage reads."""


@dataclass(frozen=True, slots=True)
class Item:
    key: int
    at: float
    title: str
    body: str
    cluster: str
    language: str = ""  # ISO 639-1 when the file says; "" = detect, as enrichment does
    url: str = ""


@dataclass(frozen=True, slots=True)
class Pair:
    a_title: str
    a_body: str
    b_title: str
    b_body: str
    overall: float
    a_language: str = ""
    b_language: str = ""
    # What tells the articles apart when the file has no titles (the boilerplate rule reads
    # titles): the URL, whose path carries the headline's words on news sites.
    a_url: str = ""
    b_url: str = ""


def _language(value: object) -> str:
    """A plain language code from the file, or "" (missing, or labels such as "unknown(likely en)")."""
    code = str(value or "").strip().lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else ""


def _parse_time(value: object) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise CorpusError(f"unreadable timestamp {text!r}") from exc
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    # Milliseconds since the epoch are common in dumps (UCI's timestamp_ms).
    return number / 1000.0 if number > 1e11 else number


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path.name}:{lineno}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise CorpusError(f"{path.name}:{lineno}: expected an object per line")
            yield lineno, row


def corpus_read(path: Path) -> list[Item] | list[Pair]:
    """Read a corpus file in any of the three shapes, or raise :class:`CorpusError`."""
    with path.open(encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if not head:
        raise CorpusError(f"{path.name}: empty file")
    if head.startswith("{"):
        return _read_jsonl(path)
    return _read_csv(path)


def _read_jsonl(path: Path) -> list[Item] | list[Pair]:
    items: list[Item] = []
    pairs: list[Pair] = []
    for lineno, row in _jsonl(path):
        if {"text1", "text2", "Overall"} <= row.keys():
            pairs.append(
                Pair(
                    a_title=str(row.get("title1") or ""),
                    a_body=str(row["text1"] or ""),
                    b_title=str(row.get("title2") or ""),
                    b_body=str(row["text2"] or ""),
                    overall=float(row["Overall"]),
                    a_language=_language(row.get("lang1")),
                    b_language=_language(row.get("lang2")),
                    a_url=str(row.get("url1") or ""),
                    b_url=str(row.get("url2") or ""),
                )
            )
        elif {"title", "cluster"} <= row.keys():
            at = _parse_time(row.get("timestamp"))
            items.append(
                Item(
                    key=len(items) + 1,
                    at=at if at is not None else math.nan,
                    title=str(row["title"] or ""),
                    body=str(row.get("text") or ""),
                    cluster=str(row["cluster"]),
                    language=_language(row.get("language")),
                    url=str(row.get("url") or ""),
                )
            )
        else:
            raise CorpusError(
                f"{path.name}:{lineno}: need columns id/title/text/cluster or text1/text2/lang1/lang2/Overall"
            )
    if items and pairs:
        raise CorpusError(f"{path.name}: mixes articles and pairs")
    return _ordered(items) if items else pairs


def _read_csv(path: Path) -> list[Item]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or [])
        cluster_col = "cluster" if "cluster" in columns else "story" if "story" in columns else None
        if "title" not in columns or cluster_col is None:
            raise CorpusError(f"{path.name}: CSV needs title and cluster (or story) columns")
        time_col = next((c for c in ("timestamp_ms", "timestamp") if c in columns), None)
        items: list[Item] = []
        for row in reader:
            at = _parse_time(row.get(time_col)) if time_col else None
            items.append(
                Item(
                    key=len(items) + 1,
                    at=at if at is not None else math.nan,
                    title=row["title"] or "",
                    body=row.get("text") or "",
                    cluster=row[cluster_col],
                    language=_language(row.get("language")),
                    url=row.get("url") or "",
                )
            )
    return _ordered(items)


def _ordered(items: list[Item]) -> list[Item]:
    """Timestamp order, file order among equals and where a timestamp is missing."""
    if all(math.isnan(i.at) for i in items):
        return [dataclasses.replace(i, at=0.0) for i in items]
    known = [i.at for i in items if not math.isnan(i.at)]
    fill = min(known)
    fixed = [i if not math.isnan(i.at) else dataclasses.replace(i, at=fill) for i in items]
    return sorted(fixed, key=lambda i: (i.at, i.key))


def bcubed(*, predicted: dict[int, int], gold: dict[int, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against gold labels."""
    pred_members: dict[int, list[int]] = defaultdict(list)
    for key, cluster in predicted.items():
        pred_members[cluster].append(key)
    gold_size = Counter(gold.values())
    precision = recall = 0.0
    for members in pred_members.values():
        labels = Counter(gold[k] for k in members)
        for label, together in labels.items():
            precision += together * together / len(members)
            recall += together * together / gold_size[label]
    n = len(predicted)
    p, r = precision / n, recall / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy) if vx and vy else 0.0


def roc_auc(scores: list[float], positive: list[bool]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return math.nan
    ranked = sorted(scores)
    # Mid-ranks handle ties.
    rank: dict[float, float] = {}
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1] == ranked[i]:
            j += 1
        rank[ranked[i]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(rank[s] for s in pos)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


# Texts -> unit-length embeddings, one row per text (the semantic backend's ``embed``).
Embedder = Callable[[list[str]], Any]


def _embed_english(embed: Embedder, texts: list[tuple[str, str, str]]) -> list[Any]:
    """Embeddings of the (title, lead, language) texts the model reads, None for the others.

    MiniLM reads English only (production embeds the English title and lead:
    the original, or the translation once done); without translation, as the
    evaluation runs, other languages get no embedding and are scored on their
    lexical features alone. A missing language is detected as enrichment
    detects it. A multilingual model reads every text of its languages as it is.
    """
    chosen = semantic_model()
    read = [embed_text(title=title, lead=lead, chars=chosen.lead_chars) for title, lead, _ in texts]
    # An empty text (a lead that was all boilerplate, no title) has nothing to read: no embedding, as
    # production stores none (``semantic.article_semantic_text``); two empty texts are not one story.
    english = [
        i
        for i, (title, lead, lang) in enumerate(texts)
        if read[i]
        and ((not chosen.english_only and not chosen.languages) or chosen.reads(semantic_language(title, lead, lang)))
    ]
    out: list[Any] = [None] * len(texts)
    if english:
        rows = embed([read[i] for i in english])
        for row, i in enumerate(english):
            out[i] = rows[row]
    return out


def _lead_read(*, title: str, lead: str, language: str, embed: Embedder | None) -> str:
    """The lead as production scores it: none when it is not about its headline (``semantic.lead_unrelated``)."""
    if embed is None or not lead_off_topic(title=title, lead=lead):
        return lead
    return (
        ""
        if lead_unrelated(title=title, lead=lead, language=semantic_language(title, lead, language), embed=embed)
        else lead
    )


def semantic_language(title: str, lead: str, language: str) -> str:
    if language:
        return language
    from newsdesk.enrich.language import detect_language

    return detect_language(text=f"{title}\n{lead}")[0]


def items_cluster(
    items: list[Item],
    *,
    params: Params,
    progress: Callable[[int], None] | None = None,
    embed: Embedder | None = None,
    refine: RefineParams | None = None,
    burst: BurstParams | None = None,
) -> dict[int, int]:
    """Stream articles through the real assignment code; return item key -> story.

    With ``refine``, refinement passes run on production's schedule
    (:class:`~newsdesk.coverage.burst.ReplaySchedule`): beat's, and, with
    ``burst``, the pass after each burst.

    With ``embed``, every article carries its embedding, computed up front in
    batches (production computes it per article at enrichment, the same vector).
    """
    store = MemoryStore(centroid_terms=params.centroid_terms)
    # Boilerplate as enrichment sees it: each article's lead against the articles before it and itself.
    counts = BoilerplateCounts()
    # A page under its site's title is read by its URL's headline (text.page_read), as enrichment reads it.
    titles = [page_headline(title=item.title, url=item.url) for item in items]
    bodies = []
    for item, title in zip(items, titles, strict=True):
        counts.add(title=title, lead=item.body)
        _, lead = page_read(title=item.title, url=item.url, lead=counts.strip(item.body))
        bodies.append(_lead_read(title=title, lead=lead, language=item.language, embed=embed))
    vectors = (
        _embed_english(embed, [(t, b, i.language) for i, t, b in zip(items, titles, bodies, strict=True)])
        if embed
        else None
    )
    schedule = None
    if refine is not None:
        beat = RefineSchedule(refine=refine, timed=any(i.at for i in items))
        schedule = ReplaySchedule(beat=beat, burst=burst if burst is not None else BurstParams(quiet_seconds=0))
    cache = RefineCache()  # what the next passes may reuse, as a worker keeps it
    touched: set[int] = set()  # stories assigned to since the last pass
    refined = False
    for n, item in enumerate(items, 1):
        features = text_features(title=titles[n - 1], body=bodies[n - 1], grams=bool(params.weight_grams))
        embedding = vectors[n - 1] if vectors is not None else None
        assigned = doc_assign(
            doc_key=item.key, at=item.at, features=features, store=store, params=params, embedding=embedding
        )
        touched.add(assigned.story)
        # Refinement as production runs it: after a burst quiets (over the touched stories), as beat
        # runs it (the whole window), and both once after the last article.
        next_at = items[n].at if n < len(items) else None
        for kind in schedule.after(item.at, next_at) if schedule is not None else ():
            # The first pass of all has no mark to look from: it takes the whole window.
            scope = set(touched) if kind == "burst" and refined else None
            for _ in range(1 + (FOLLOW_PASSES if kind == "burst" else 0)):
                result = store.window_refine(now=item.at, params=params, refine=refine, cache=cache, touched=scope)
                if not result.changed:
                    break
                # A follow-up pass: the touched stories again, and those the pass changed.
                changed = {store.story_of(k) for k in result.moves} | set(result.split)
                scope = (scope or set()) | {s for s in changed if s is not None}
            refined = True
            touched.clear()
        if progress:
            progress(n)
    return {item.key: store.story_of(item.key) or 0 for item in items}


_FIRST_SENTENCE = re.compile(r"^\s*(.{20,200}?)(?:[.!?](?=\s)|\n|\s{2,})")
# Chinese and Japanese end a sentence with a full-width stop and no space, and
# say in 6 characters what takes 20 in a Latin script.
_FIRST_SENTENCE_CJK = re.compile(r"^\s*(.{6,100}?)[。！？]")


def title_split(*, title: str, text: str) -> tuple[str, str]:
    """A pair without titles: its first sentence is the headline, as a feed would give it."""
    if title:
        return title, text
    matches = [m for m in (_FIRST_SENTENCE.match(text), _FIRST_SENTENCE_CJK.match(text)) if m]
    if not matches:
        return "", text
    match = min(matches, key=lambda m: m.end())
    return match.group(1), text[match.end() :]


def pairs_score(pairs: list[Pair], *, params: Params, embed: Embedder | None = None) -> list[float]:
    """Similarity of every pair, after streaming all their texts into the index (for df and boilerplate).

    A text's boilerplate is dropped before a title is cut from it (a file without titles).
    """
    store = MemoryStore()
    counts = BoilerplateCounts()
    for pair in pairs:
        counts.add(title=pair.a_title or urlsplit(pair.a_url).path, lead=pair.a_body)
        counts.add(title=pair.b_title or urlsplit(pair.b_url).path, lead=pair.b_body)
    feats = []
    texts: list[tuple[str, str, str]] = []
    for pair in pairs:
        a_title, a_body = title_split(title=pair.a_title, text=counts.strip(pair.a_body))
        b_title, b_body = title_split(title=pair.b_title, text=counts.strip(pair.b_body))
        a_body = _lead_read(title=a_title, lead=a_body, language=pair.a_language, embed=embed)
        b_body = _lead_read(title=b_title, lead=b_body, language=pair.b_language, embed=embed)
        a = text_features(title=a_title, body=a_body, grams=bool(params.weight_grams))
        b = text_features(title=b_title, body=b_body, grams=bool(params.weight_grams))
        feats.append((a, b))
        texts += [(a_title, a_body, pair.a_language), (b_title, b_body, pair.b_language)]
        for f in (a, b):
            store.df_add([*f.terms, *("#" + g for g in f.grams)])
    vectors = _embed_english(embed, texts) if embed else None
    return [
        pair_similarity(
            a=a,
            b=b,
            store=store,
            params=params,
            embedding_a=vectors[2 * n] if vectors is not None else None,
            embedding_b=vectors[2 * n + 1] if vectors is not None else None,
        )
        for n, (a, b) in enumerate(feats)
    ]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One file's result line and the detail lines that say where it comes from."""

    line: str
    details: tuple[str, ...] = ()


def events_worst(*, predicted: dict[int, int], gold: dict[int, str], count: int = 5) -> list[str]:
    """The ``count`` gold events with the lowest B-cubed precision, each with what it was mixed with.

    An event's precision is the mean, over its articles, of the share of
    their story that belongs to the event: 1.0 when its stories hold
    nothing else.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for key, story in predicted.items():
        members[story].append(key)
    shares: dict[str, list[float]] = defaultdict(list)
    mixed: dict[str, Counter[str]] = defaultdict(Counter)
    for keys in members.values():
        labels = Counter(gold[k] for k in keys)
        for label, together in labels.items():
            shares[label] += [together / len(keys)] * together
            for other, n in labels.items():
                if other != label:
                    mixed[label][other] += n * together
    ranked = sorted(shares.items(), key=lambda kv: (sum(kv[1]) / len(kv[1]), kv[0]))[:count]
    lines = []
    for label, values in ranked:
        with_ = ", ".join(f"{o} ({n})" for o, n in mixed[label].most_common(3)) or "nothing"
        lines.append(
            f"worst event {label}: precision={sum(values) / len(values):.3f} articles={len(values)} mixed with {with_}"
        )
    return lines


def events_split(*, predicted: dict[int, int], gold: dict[int, str], count: int = 5) -> list[str]:
    """The ``count`` gold events cut into the most stories (then the lowest B-cubed recall), with the
    sizes of their pieces (``3 + 2 + 4 x 1``: four articles alone); events held by one story are left out.

    An event's recall is the mean, over its articles, of the share of the
    event that sits in their story: 1.0 when one story holds it all.
    """
    pieces: dict[str, Counter[int]] = defaultdict(Counter)
    for key, story in predicted.items():
        pieces[gold[key]][story] += 1
    recall = {
        label: sum(n * n for n in by_story.values()) / sum(by_story.values()) ** 2 for label, by_story in pieces.items()
    }
    ranked = sorted(
        (label for label, by_story in pieces.items() if len(by_story) > 1),
        key=lambda label: (-len(pieces[label]), recall[label], label),
    )[:count]
    lines = []
    for label in ranked:
        sizes = [str(n) for _, n in pieces[label].most_common() if n > 1]
        alone = sum(1 for n in pieces[label].values() if n == 1)
        sizes += [f"{alone} x 1"] if alone > 1 else ["1"] * alone
        sizes = " + ".join(sizes)
        lines.append(
            f"split event {label}: recall={recall[label]:.3f} articles={sum(pieces[label].values())} "
            f"stories={len(pieces[label])} ({sizes})"
        )
    return lines


def pairs_by_language(pairs: list[Pair], scores: list[float]) -> list[str]:
    """Pearson (and AUC where both classes occur) per language pair, e.g. ``de-en``, most pairs first."""
    groups: dict[str, list[int]] = defaultdict(list)
    for n, p in enumerate(pairs):
        a, b = sorted((p.a_language or "?", p.b_language or "?"))
        groups[a if a == b else f"{a}-{b}"].append(n)
    lines = []
    for name, idx in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        xs = [scores[i] for i in idx]
        r = pearson(xs, [-pairs[i].overall for i in idx]) if len(idx) > 2 else math.nan
        auc = roc_auc(xs, [pairs[i].overall <= PAIR_SAME_AT_MOST for i in idx])
        auc_text = "n/a" if math.isnan(auc) else f"{auc:.3f}"
        lines.append(f"language pair {name}: pairs={len(idx)} pearson={r:.3f} auc={auc_text}")
    return lines


def pairs_interval(pairs: list[Pair], scores: list[float], *, draws: int = 1000, seed: int = 0) -> str:
    """A 95% bootstrap interval of Pearson and AUC: how far they would move on another draw of as many pairs.

    A few hundred graded pairs are few: a change that moves the figure by
    much less than the interval is wide may be noise. Resampled with a
    fixed seed, so a file's interval reads the same every run.
    """
    rng = random.Random(seed)
    n = len(pairs)
    sameness = [-p.overall for p in pairs]
    positive = [p.overall <= PAIR_SAME_AT_MOST for p in pairs]
    rs: list[float] = []
    aucs: list[float] = []
    for _ in range(draws):
        idx = [rng.randrange(n) for _ in range(n)]
        xs = [scores[i] for i in idx]
        rs.append(pearson(xs, [sameness[i] for i in idx]))
        auc = roc_auc(xs, [positive[i] for i in idx])
        if not math.isnan(auc):
            aucs.append(auc)

    def spread(values: list[float]) -> str:
        if not values:
            return "n/a"
        ranked = sorted(values)
        lo = ranked[int(0.025 * (len(ranked) - 1))]
        hi = ranked[math.ceil(0.975 * (len(ranked) - 1))]
        return f"{lo:.3f}-{hi:.3f}"

    return f"95% interval over {draws:,} resamples of the {n} pairs: pearson {spread(rs)}, auc {spread(aucs)}"


# An event named "<topic>_<kind>" with a numeric topic (ECB+: ``27_ecb`` and ``27_ecbplus``, two
# events of one kind) or by a number alone (giveme5w1h) goes to a half by that number.
_TOPIC = re.compile(r"(\d+)(?:_|$)")


def event_half(label: str) -> int:
    """The half (0 or 1) a gold event falls in for a held-out check, the same every run.

    Events of one numbered topic stay together, so each half keeps its same-kind
    pairs (the hard negatives) whole. The half is the CRC-32's parity of the topic
    (or of the whole label), not the number's own: a file may hold only odd topics
    (ECB+'s dev split does).
    """
    topic = _TOPIC.match(label)
    return zlib.crc32((topic.group(1) if topic else label).encode("utf-8")) % 2


def halves_evaluate(
    data: list[Item] | list[Pair],
    *,
    params: Params,
    embed: Embedder | None = None,
    refine: RefineParams | None = None,
    burst: BurstParams | None = None,
) -> list[str]:
    """Each half of a file alone, as a held-out check: a change fitted on one half is read on the other.

    Clustering files are split by gold event (:func:`event_half`) and each half is
    streamed on its own, as if it were the whole file; pair files by position
    (even and odd pairs). One line per half, in the file's result format; for a clustering
    file each half's line is followed by that half's worst and split events
    (:func:`events_worst`, :func:`events_split`), prefixed ``half A ``.
    """
    lines = []
    if data and isinstance(data[0], Pair):
        pairs = [p for p in data if isinstance(p, Pair)]
        scores = pairs_score(pairs, params=params, embed=embed)
        for half, name in ((0, "A (even pairs)"), (1, "B (odd pairs)")):
            idx = range(half, len(pairs), 2)
            xs = [scores[i] for i in idx]
            r = pearson(xs, [-pairs[i].overall for i in idx]) if len(idx) > 2 else math.nan
            auc = roc_auc(xs, [pairs[i].overall <= PAIR_SAME_AT_MOST for i in idx])
            lines.append(f"half {name}: pairs={len(idx)} pearson={r:.3f} auc={auc:.3f}")
        return lines
    items = [i for i in data if isinstance(i, Item)]
    for half, name in ((0, "A"), (1, "B")):
        part = [i for i in items if event_half(i.cluster) == half]
        if not part:
            lines.append(f"half {name}: no events")
            continue
        predicted = items_cluster(part, params=params, embed=embed, refine=refine, burst=burst)
        gold = {i.key: i.cluster for i in part}
        p, r, f1 = bcubed(predicted=predicted, gold=gold)
        events = len(set(gold.values()))
        lines.append(
            f"half {name}: events={events} articles={len(part)} bcubed_f1={f1:.3f} precision={p:.3f} recall={r:.3f}"
        )
        lines += [f"half {name} {line}" for line in events_worst(predicted=predicted, gold=gold)]
        lines += [f"half {name} {line}" for line in events_split(predicted=predicted, gold=gold)]
    return lines


def corpus_evaluate(
    path: Path,
    *,
    params: Params,
    progress: Callable[[int], None] | None = None,
    embed: Embedder | None = None,
    refine: RefineParams | None = None,
    burst: BurstParams | None = None,
    halves: bool = False,
) -> Evaluation:
    """The result line for one file (``bcubed_f1=0.934 precision=0.951 recall=0.918`` or
    ``pearson=... auc=...``) and its details: the five worst events by precision and the
    five cut into the most stories for clustering files; for pair files, Pearson per language pair and how far the
    figures would move on another draw of as many pairs (:func:`pairs_interval`).

    Clustering files stream through assignment with refinement passes as
    production runs them (``refine``: beat's; ``burst``: after bursts too;
    None: assignment alone). With ``halves``, the details also hold each half's
    figures alone (:func:`halves_evaluate`).
    """
    data = corpus_read(path)
    if not data:
        raise CorpusError(f"{path.name}: no rows")
    split = halves_evaluate(data, params=params, embed=embed, refine=refine, burst=burst) if halves else []
    if isinstance(data[0], Pair):
        pairs = [p for p in data if isinstance(p, Pair)]
        scores = pairs_score(pairs, params=params, embed=embed)
        sameness = [-p.overall for p in pairs]
        auc = roc_auc(scores, [p.overall <= PAIR_SAME_AT_MOST for p in pairs])
        line = f"pearson={pearson(scores, sameness):.3f} auc={auc:.3f}"
        details = (*pairs_by_language(pairs, scores), pairs_interval(pairs, scores), *split)
        return Evaluation(line=line, details=details)
    items = [i for i in data if isinstance(i, Item)]
    predicted = items_cluster(items, params=params, progress=progress, embed=embed, refine=refine, burst=burst)
    gold = {i.key: i.cluster for i in items}
    p, r, f1 = bcubed(predicted=predicted, gold=gold)
    line = f"bcubed_f1={f1:.3f} precision={p:.3f} recall={r:.3f}"
    worst = events_worst(predicted=predicted, gold=gold)
    return Evaluation(line=line, details=(*worst, *events_split(predicted=predicted, gold=gold), *split))
