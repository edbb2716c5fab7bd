"""The Similar Coverage index: postings, document frequencies, stored vectors.

Kept in the database so every worker shares one index and a restart loses
nothing; ``manage.py recluster`` rebuilds all of it from the articles.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class CoverageTerm(models.Model):
    """How many indexed articles hold a term: the incremental document frequency.

    The row with the empty term counts the indexed articles themselves (N in
    the IDF formula), so one lookup returns both.
    """

    term = models.CharField(max_length=64, primary_key=True)
    df = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.term or '(documents)'}={self.df}"


class CoveragePosting(models.Model):
    """An article listed under one of its most distinctive terms.

    Read newest first within the time window: the (term, published_at,
    article) index serves that without touching older postings, whatever the
    table's size, and holds every column the read needs (an index-only scan;
    the article breaks ties in time the way the in-memory store does). The
    unique (article, term) index also serves deletes by article, so the
    foreign key needs no index of its own: one index less to write per posting.
    Nor a database constraint: the ORM deletes an article's postings with it
    (CASCADE is Django's), and a check per posting (a dozen per article, a
    million rows for a rebuild) bought nothing, since readers join postings
    to the vectors table, which keeps its constraint, and skip strays.
    """

    id = models.BigAutoField(primary_key=True)
    term = models.CharField(max_length=64)
    article = models.ForeignKey(
        "newsdesk.Article", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "term"], name="coverage_posting_article_term"),
        ]
        indexes = [models.Index(fields=["term", "published_at", "article"], name="coverage_posting_recent_idx")]

    def __str__(self) -> str:
        return f"{self.term} -> {self.article_id}"


class CoverageDoc(models.Model):
    """An indexed article's weighted vectors, as the clustering compares them."""

    article = models.OneToOneField(
        "newsdesk.Article", on_delete=models.CASCADE, primary_key=True, related_name="coverage_doc"
    )
    at = models.FloatField(help_text="Publication time, seconds since the epoch.")
    terms = models.JSONField(default=dict)
    names = models.JSONField(default=dict)
    grams = models.JSONField(default=dict)
    # ``terms`` and ``names`` again, packed for the candidate read (newsdesk/coverage/docpack.py);
    # null where a writer left none, and then the JSON is read.
    packed = models.BinaryField(null=True, blank=True)
    # Which reading of the text wrote the particulars among ``names`` (the "@" keys;
    # newsdesk/coverage/particulars.py ``VERSION``). 0: written before versions were kept, or by a
    # writer that does not say; an older version is read anew in bounded batches (dbupgrade.py).
    particulars_version = models.PositiveSmallIntegerField(db_default=0)

    def __str__(self) -> str:
        return f"doc {self.article_id}"


class CoverageStory(models.Model):
    """A story's summed term vector (cut to its heaviest terms): what new articles are compared with."""

    story = models.OneToOneField(
        "newsdesk.Story", on_delete=models.CASCADE, primary_key=True, related_name="coverage_centroid"
    )
    centroid = models.JSONField(default=dict)
    # ``centroid`` again, packed for the candidate read (newsdesk/coverage/docpack.py); null
    # where a writer left none, and then the JSON is read.
    centroid_packed = models.BinaryField(null=True, blank=True)
    # Optional semantic backend: the sum of the members' sentence embeddings
    # (float32 bytes), or null when no member has one.
    embedding = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"centroid {self.story_id}"


class CoverageEmbedding(models.Model):
    """An article's sentence embedding (optional semantic backend), computed once at enrichment.

    Kept apart from :class:`CoverageDoc` so a rebuild of the index
    (``recluster``) reuses it instead of running the model again. ``digest``
    identifies the text it was computed from: a translation that arrives later
    changes the text, and the embedding is computed anew.
    """

    article = models.OneToOneField(
        "newsdesk.Article", on_delete=models.CASCADE, primary_key=True, related_name="coverage_embedding"
    )
    digest = models.CharField(max_length=32)
    vector = models.BinaryField(help_text="Unit-length embedding, float16 bytes.")

    def __str__(self) -> str:
        return f"embedding {self.article_id}"


class CoverageBoilerplate(models.Model):
    """A lead's segment seen under a title: a segment seen under three unrelated titles is boilerplate.

    Written at enrichment (newsdesk/coverage/dbboilerplate.py), one row per
    (segment, title) pair; the unique index absorbs repeats and serves the
    read of a segment's titles. ``segment`` and ``title`` are 16-hex-digit
    digests, ``words`` the title's word stems the relation between titles
    reads (newsdesk/coverage/boilerplate.py). ``seen_at``: when the pair was
    first counted (the article's fetch time when ``recluster`` recounts);
    rows older than NEWSDESK_COVERAGE_BOILERPLATE_DAYS are pruned hourly.
    """

    id = models.BigAutoField(primary_key=True)
    segment = models.CharField(max_length=16)
    title = models.CharField(max_length=16)
    words = models.TextField(blank=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "title"], name="coverage_boilerplate_segment_title"),
        ]

    def __str__(self) -> str:
        return f"{self.segment} under {self.title}"
