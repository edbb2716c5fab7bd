"""eval_coverage: the shipped defaults meet the quality targets; metrics and readers behave."""

from __future__ import annotations

import functools
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from newsdesk.coverage.evaluate import bcubed, corpus_read, roc_auc
from newsdesk.coverage.semantic import USE_V3, backend_name, semantic_enabled
from newsdesk.coverage.semantic import model as semantic_model

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "coverage"


def run(*files: Path, halves: bool = False) -> str:
    out = StringIO()
    call_command("eval_coverage", *map(str, files), *(["--halves"] if halves else []), stdout=out, stderr=StringIO())
    return out.getvalue()


def figures(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"labelled corpora not found at {CORPORA} (../shared beside the repository)")
    return CORPORA


@functools.cache  # each corpus is read and embedded once per test run
def giveme(corpora: Path) -> dict[str, float]:
    """The whole file's figures, and each half's B-cubed F1 as ``half_a`` and ``half_b`` (held-out halves)."""
    out = run(corpora / "giveme5w1h.jsonl", halves=True).strip().splitlines()
    assert out[-1].startswith("giveme5w1h.jsonl: bcubed_f1=")
    got = figures(out[-1])
    for half in ("A", "B"):
        line = next(line for line in out if line.startswith(f"giveme5w1h.jsonl: half {half}: "))
        got[f"half_{half.lower()}"] = figures(line)["bcubed_f1"]
    return got


@functools.cache  # each corpus is read and embedded once per test run
def uci(corpora: Path) -> dict[str, float]:
    out = run(corpora / "uci_headlines.csv").strip().splitlines()[-1]
    assert out.startswith("uci_headlines.csv: bcubed_f1=")
    return figures(out)


@functools.cache  # each corpus is read and embedded once per test run
def semeval(corpora: Path) -> dict[str, float]:
    out = run(corpora / "semeval2022_pairs.jsonl").strip().splitlines()[-1]
    assert out.startswith("semeval2022_pairs.jsonl: pearson=")
    return figures(out)


@functools.cache  # each corpus is read and embedded once per test run
def ecbplus(corpora: Path) -> dict[str, float]:
    out = run(corpora / "ecbplus_dev.jsonl").strip().splitlines()
    assert any(line.startswith("ecbplus_dev.jsonl: worst event ") for line in out)
    assert out[-1].startswith("ecbplus_dev.jsonl: bcubed_f1=")
    return figures(out[-1])


# The (#18) targets. Strict: a marker must go once its target passes. Measured in
# docs/benchmarks.md ("Same-kind events by their own cores"), streaming plus refinement:
# default install (multilingual USE v3) / lexical only.
SEMANTIC = semantic_enabled()
DEFAULT_ENCODER = SEMANTIC and semantic_model() == USE_V3  # what a default install runs


@pytest.mark.slow  # reads a whole evaluation corpus
def test_uci_headlines_meet_the_clustering_target(corpora):
    """0.880 USE v3, 0.862 e5, 0.857 lexical (h25uci: two waves of one topic are two stories; 0.840,
    0.829, 0.818 before)."""
    assert uci(corpora)["bcubed_f1"] >= 0.84


@pytest.mark.slow  # reads a whole evaluation corpus
def test_giveme5w1h_meets_the_clustering_target(corpora):
    """0.949 USE v3 (halves 0.976 / 0.934), 0.945 lexical (0.978 / 0.943) (h27g5: a page under its site's title
    read by its URL's headline; a side story's lone join on the model's reading; 0.938 (0.976 / 0.921) and 0.941
    (0.978 / 0.935) before); e5 0.934 (h24g5, before h27g5; its halves not measured)."""
    got = giveme(corpora)
    assert got["bcubed_f1"] >= 0.93
    if DEFAULT_ENCODER or not SEMANTIC:
        assert got["half_a"] >= 0.93 and got["half_b"] >= 0.93  # each held-out half too


@pytest.mark.slow  # reads a whole evaluation corpus
@pytest.mark.xfail(
    strict=True, reason="targets Pearson 0.72 / AUC 0.88 not reached (0.712 / 0.865 USE v3, 0.679 / 0.850 lexical)"
)
def test_semeval_pairs_meet_the_similarity_targets_without_translation(corpora):
    got = semeval(corpora)
    assert got["pearson"] >= 0.72 and got["auc"] >= 0.88


@pytest.mark.slow  # reads a whole evaluation corpus
def test_ecbplus_same_kind_events_meet_the_precision_target(corpora):
    """0.952 (P 0.960) with the default install's encoder (h26ecb: a year and a month of its own date a core;
    0.945, P 0.940, before; h25halves: own cores of who alone in groups naming one year are angles; 0.930 before,
    and 0.922, P 0.949, before h23q's own cores of local words), 0.958 (P 0.959) lexical (0.951 before h26ecb,
    0.936 before that; h22q's dated cores: 0.910 before), from 0.846 (P 0.762)."""
    got = ecbplus(corpora)
    assert got["bcubed_f1"] >= 0.90 and got["precision"] >= 0.90


@pytest.mark.slow  # reads a whole evaluation corpus
def test_quality_does_not_regress_below_what_was_measured(corpora):
    """Floors a little under the committed figures: a change that loses quality fails here.

    Streaming plus refinement, with the default install's multilingual encoder (docs/benchmarks.md,
    "Same-kind events by their own cores", "Headlines without lead", "Late reports", "h19g5", "h24g5",
    "h25page", "h25uci", "h25halves", "h26ecb" and "h27g5"): UCI 0.880, giveme5w1h 0.949, SemEval 0.715 / 0.866,
    ECB+ 0.952 (P 0.960); without it (lexical) 0.859, 0.945, 0.683 / 0.852, 0.958 (P 0.959); e5 ECB+ 0.949
    (P 0.964) (h26ecb: dated to the month), giveme5w1h 0.934, UCI 0.862 (h25uci's waves).
    """
    assert uci(corpora)["bcubed_f1"] >= (0.87 if DEFAULT_ENCODER else 0.845)
    assert giveme(corpora)["bcubed_f1"] >= (0.94 if DEFAULT_ENCODER or not SEMANTIC else 0.93)
    same_kind = ecbplus(corpora)
    assert same_kind["bcubed_f1"] >= 0.94 and same_kind["precision"] >= 0.95
    got = semeval(corpora)
    assert got["pearson"] >= (0.675 if SEMANTIC else 0.65) and got["auc"] >= (0.85 if SEMANTIC else 0.835)


def test_bcubed_matches_hand_computed_values():
    gold = {1: "a", 2: "a", 3: "b", 4: "b"}
    assert bcubed(predicted={1: 1, 2: 1, 3: 2, 4: 2}, gold=gold) == (1.0, 1.0, 1.0)
    p, r, f = bcubed(predicted={1: 1, 2: 1, 3: 1, 4: 1}, gold=gold)
    assert (p, r) == (0.5, 1.0) and f == pytest.approx(2 / 3)
    p, r, _ = bcubed(predicted={1: 1, 2: 2, 3: 3, 4: 4}, gold=gold)
    assert (p, r) == (1.0, 0.5)


def test_auc_counts_ties_half():
    assert roc_auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5


def test_articles_are_streamed_in_timestamp_order_and_file_order_without(tmp_path):
    rows = [
        {"id": "x", "title": "late", "text": "", "cluster": 1, "timestamp": "2024-01-02T00:00:00"},
        {"id": "y", "title": "early", "text": "", "cluster": 1, "timestamp": "2024-01-01T00:00:00"},
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert [i.title for i in corpus_read(path)] == ["early", "late"]
    for r in rows:
        del r["timestamp"]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert [i.title for i in corpus_read(path)] == ["late", "early"]


def test_end_to_end_on_a_small_corpus_of_each_shape(tmp_path):
    articles = tmp_path / "articles.jsonl"
    quake = "Magnitude 7.1 earthquake strikes Sumatra, tsunami warning for Indonesia"
    fed = "Federal Reserve raises interest rates as Powell warns on inflation"
    rows = [
        {"id": 1, "title": quake, "text": "", "cluster": "q"},
        {"id": 2, "title": fed, "text": "", "cluster": "f"},
        {"id": 3, "title": "Sumatra earthquake of magnitude 7.1 triggers tsunami warning", "text": "", "cluster": "q"},
        {
            "id": 4,
            "title": "Powell: Federal Reserve raises rates again, inflation too high",
            "text": "",
            "cluster": "f",
        },
    ]
    articles.write_text("\n".join(json.dumps(r) for r in rows))
    csv_path = tmp_path / "uci.csv"
    csv_path.write_text(
        "id,title,timestamp_ms,cluster\n"
        f'1,"{quake}",1394470370698,q\n2,"{fed}",1394470371207,f\n'
        '3,"Sumatra earthquake of magnitude 7.1 triggers tsunami warning",1394470371550,q\n'
    )
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {"text1": quake, "text2": rows[2]["title"], "lang1": "en", "lang2": "en", "Overall": 1.0},
                {"text1": quake, "text2": fed, "lang1": "en", "lang2": "en", "Overall": 4.0},
            ]
        )
    )
    backend, *lines = run(articles, csv_path, pairs).strip().splitlines()
    assert backend == f"backend: {backend_name()}"
    results = [line for line in lines if "bcubed_f1=" in line or ": pearson=" in line]
    assert results[0] == "articles.jsonl: bcubed_f1=1.000 precision=1.000 recall=1.000"
    assert results[1] == "uci.csv: bcubed_f1=1.000 precision=1.000 recall=1.000"
    assert results[2].startswith("pairs.jsonl: pearson=1.000 auc=1.000")


def test_output_names_the_worst_events_and_figures_per_language_pair(tmp_path):
    """Before each result: the events with the worst precision, or Pearson per language pair."""
    quake = "Magnitude 7.1 earthquake strikes Sumatra, tsunami warning for Indonesia"
    rows = [
        {"id": 1, "title": quake, "text": "", "cluster": "sumatra"},
        {"id": 2, "title": "Sumatra earthquake of magnitude 7.1 triggers tsunami warning", "text": "", "cluster": "sumatra"},
        # Labelled as another event, worded as the same one: the clustering cannot tell, and says so.
        {"id": 3, "title": "Sumatra earthquake: magnitude 7.1, tsunami warning for Indonesia", "text": "", "cluster": "other"},
        {"id": 4, "title": "Federal Reserve raises interest rates as Powell warns on inflation", "text": "", "cluster": "fed"},
    ]  # fmt: skip
    articles = tmp_path / "articles.jsonl"
    articles.write_text("\n".join(json.dumps(r) for r in rows))
    fed_de = "Die Notenbank Federal Reserve erhöht die Zinsen, Powell warnt vor Inflation"
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {"text1": quake, "text2": rows[1]["title"], "lang1": "en", "lang2": "en", "Overall": 1.0},
                {"text1": quake, "text2": rows[3]["title"], "lang1": "en", "lang2": "en", "Overall": 4.0},
                {"text1": rows[2]["title"], "text2": rows[3]["title"], "lang1": "en", "lang2": "en", "Overall": 4.0},
                {"text1": fed_de, "text2": rows[3]["title"], "lang1": "de", "lang2": "en", "Overall": 1.0},
                {"text1": fed_de, "text2": quake, "lang1": "en", "lang2": "de", "Overall": 4.0},
                {"text1": fed_de, "text2": rows[1]["title"], "lang1": "de", "lang2": "en", "Overall": 3.5},
            ]
        )
    )
    lines = run(articles, pairs).strip().splitlines()
    worst = [line for line in lines if line.startswith("articles.jsonl: worst event")]
    assert worst[0].startswith("articles.jsonl: worst event other: precision=0.333 articles=1 mixed with sumatra (2)")
    assert any(line.startswith("articles.jsonl: worst event sumatra: precision=0.667") for line in worst)
    assert lines.index(worst[-1]) < lines.index(next(x for x in lines if x.startswith("articles.jsonl: bcubed_f1=")))
    by_pair = {line.split(":")[1].strip(): line for line in lines if ": language pair " in line}
    assert set(by_pair) == {"language pair en", "language pair de-en"}
    assert "pairs=3" in by_pair["language pair en"] and "pairs=3" in by_pair["language pair de-en"]
    assert re.search(r"language pair de-en: pairs=3 pearson=-?[0-9.]+ auc=1\.000", by_pair["language pair de-en"])
    interval = next(line for line in lines if ": 95% interval " in line)
    assert interval.startswith("pairs.jsonl: 95% interval over 1,000 resamples of the 6 pairs: pearson ")
    assert lines.index(interval) < lines.index(next(x for x in lines if x.startswith("pairs.jsonl: pearson=")))


def test_the_pair_interval_says_how_far_another_draw_of_pairs_would_move_the_figures():
    import random

    from newsdesk.coverage.evaluate import Pair, pairs_interval, pearson

    rng = random.Random(1)
    grades = [rng.choice((1.0, 2.0, 3.0, 4.0)) for _ in range(200)]
    pairs = [Pair(a_title="", a_body="a", b_title="", b_body="b", overall=g) for g in grades]

    def bounds(line: str) -> dict[str, tuple[float, float]]:
        return {k: (float(lo), float(hi)) for k, lo, hi in re.findall(r"(pearson|auc) ([0-9.]+)-([0-9.]+)", line)}

    # Scores that rank every pair as the graders did: every draw reads the same.
    exact = bounds(pairs_interval(pairs, [-g for g in grades]))
    assert exact == {"pearson": (1.0, 1.0), "auc": (1.0, 1.0)}
    # Noisy scores: the interval holds the whole file's figure, is the same every run, and narrows with more pairs.
    noisy = [-g + rng.gauss(0, 1.5) for g in grades]
    whole = pearson(noisy, [-g for g in grades])
    line = pairs_interval(pairs, noisy)
    assert line == pairs_interval(pairs, noisy)
    lo, hi = bounds(line)["pearson"]
    assert lo < whole < hi
    few_lo, few_hi = bounds(pairs_interval(pairs[:50], noisy[:50]))["pearson"]
    assert few_hi - few_lo > hi - lo


def test_unknown_shape_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"foo": 1}\n')
    with pytest.raises(CommandError):
        run(bad)
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.jsonl")


def test_an_untitled_pair_text_s_first_sentence_is_its_headline_in_any_script():
    from newsdesk.coverage.evaluate import title_split

    latin = "Brad & Jen im Tuschel-Talk. Während der Golden Globes saßen sie nur wenige Meter entfernt."
    assert title_split(title="", text=latin) == (
        "Brad & Jen im Tuschel-Talk",
        " Während der Golden Globes saßen sie nur wenige Meter entfernt.",
    )
    chinese = "日本央行宣布加息。日本央行周二宣布将基准利率上调，这是十七年来首次加息。"
    assert title_split(title="", text=chinese) == (
        "日本央行宣布加息",
        "日本央行周二宣布将基准利率上调，这是十七年来首次加息。",
    )
    japanese = "日銀が利上げを決定！マイナス金利を解除した。"
    assert title_split(title="", text=japanese)[0] == "日銀が利上げを決定"
    # A given title is kept; a text with no sentence end has no headline.
    assert title_split(title="T", text=chinese) == ("T", chinese)
    assert title_split(title="", text="no end here") == ("", "no end here")


def test_split_events_are_those_cut_into_most_stories():
    from newsdesk.coverage.evaluate import events_split

    gold = {k: "quake" for k in range(1, 7)} | {7: "fed", 8: "fed", 9: "vote", 10: "vote", 11: "vote"}
    gold |= {k: "strike" for k in range(12, 17)}
    predicted = {1: 10, 2: 10, 3: 10, 4: 11, 5: 11, 6: 12, 7: 20, 8: 20, 9: 30, 10: 30, 11: 31}
    predicted |= {12: 40, 13: 40, 14: 41, 15: 42, 16: 43}  # the strike: two together, three alone
    lines = events_split(predicted=predicted, gold=gold)
    # The strike in four stories first, the quake in three; the vote in two; the fed (whole) is no split event.
    assert lines == [
        "split event strike: recall=0.280 articles=5 stories=4 (2 + 3 x 1)",
        "split event quake: recall=0.389 articles=6 stories=3 (3 + 2 + 1)",
        "split event vote: recall=0.556 articles=3 stories=2 (2 + 1)",
    ]
    assert events_split(predicted=predicted, gold=gold, count=1) == lines[:1]
    # Recall is B-cubed's, read per event: (3*3 + 2*2 + 1*1) / 6**2.
    _, recall, _ = bcubed(predicted={k: v for k, v in predicted.items() if gold[k] == "quake"}, gold=gold)
    assert f"recall={recall:.3f}" in lines[1]


def test_event_halves_keep_a_topic_s_same_kind_events_together():
    import zlib

    from newsdesk.coverage.evaluate import event_half

    odd_topics = range(1, 46, 2)  # ECB+'s dev split holds odd topics only: both halves must still fill
    assert {event_half(f"{t}_ecb") for t in odd_topics} == {0, 1}
    assert all(event_half(f"{t}_ecb") == event_half(f"{t}_ecbplus") == event_half(str(t)) for t in odd_topics)
    assert event_half("27") == zlib.crc32(b"27") % 2  # giveme5w1h's numbered events
    label = "dJbOm1zHMJJGWuMjXPV4nRnytnmrM"  # a UCI story id: by its digest
    assert event_half(label) == zlib.crc32(label.encode()) % 2
    assert {event_half(f"d{n}x") for n in range(40)} == {0, 1}


def test_halves_read_each_half_as_a_file_of_its_own(tmp_path):
    """--halves: each half's line is what that half alone, as a whole file, reads."""
    quake = "Magnitude 7.1 earthquake strikes Sumatra, tsunami warning for Indonesia"
    rows = [
        {"id": 1, "title": quake, "text": "", "cluster": "1_a"},
        {"id": 2, "title": "Sumatra earthquake of magnitude 7.1 triggers tsunami warning", "text": "", "cluster": "1_a"},
        # Topic 1's other event, worded as the first: the half holds both and cannot tell them apart.
        {"id": 3, "title": "Sumatra earthquake: magnitude 7.1, tsunami warning for Indonesia", "text": "", "cluster": "1_b"},
        {"id": 4, "title": "Federal Reserve raises interest rates as Powell warns on inflation", "text": "", "cluster": "4_a"},
        {"id": 5, "title": "Powell: Federal Reserve raises rates again, inflation too high", "text": "", "cluster": "4_a"},
        {"id": 6, "title": "Bank of England holds rates as Bailey sees inflation easing", "text": "", "cluster": "4_b"},
    ]  # fmt: skip
    whole = tmp_path / "whole.jsonl"
    whole.write_text("\n".join(json.dumps(r) for r in rows))
    out = StringIO()
    call_command("eval_coverage", str(whole), "--halves", stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    halves = {
        line.split(":")[1].strip().split()[1]: line
        for line in lines
        if line.startswith("whole.jsonl: half ") and " bcubed_f1=" in line
    }
    assert set(halves) == {"A", "B"}
    assert "events=2 articles=3 " in halves["A"] and "events=2 articles=3 " in halves["B"]
    assert lines[-1].startswith("whole.jsonl: bcubed_f1=")  # the whole file's line stays last
    for name, topic in (("A", "4_"), ("B", "1_")):
        alone = tmp_path / f"{name}.jsonl"
        alone.write_text("\n".join(json.dumps(r) for r in rows if r["cluster"].startswith(topic)))
        figures_alone = run(alone).strip().splitlines()[-1].split(": ", 1)[1]
        assert halves[name].endswith(figures_alone)
    assert "precision=1.000" not in halves["B"]  # the worded-alike events of topic 1 are mixed, and it says so
    # Each half names its own worst events, after its line and before the whole file's result.
    worst_b = [line for line in lines if line.startswith("whole.jsonl: half B worst event ")]
    assert worst_b and all(re.search(r"worst event 1_[ab]: precision=0\.\d+ articles=\d", line) for line in worst_b)
    assert lines.index(halves["B"]) < lines.index(worst_b[0])
    worst_a = [line for line in lines if line.startswith("whole.jsonl: half A worst event ")]
    assert {line.split()[5] for line in worst_a} == {"4_a:", "4_b:"}  # half A's events only
    assert not any(" 1_" in line for line in worst_a)
    # Pairs: even and odd positions, each with its own figures.
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps(
                {"text1": rows[a]["title"], "text2": rows[b]["title"], "lang1": "en", "lang2": "en", "Overall": g}
            )
            for a, b, g in ((0, 1, 1.0), (0, 3, 4.0), (3, 4, 1.0), (1, 5, 4.0), (0, 2, 2.0), (4, 5, 3.0))
        )
    )
    out = StringIO()
    call_command("eval_coverage", str(pairs), "--halves", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert re.search(r"pairs\.jsonl: half A \(even pairs\): pairs=3 pearson=-?[0-9.]+ auc=", text)
    assert re.search(r"pairs\.jsonl: half B \(odd pairs\): pairs=3 pearson=-?[0-9.]+ auc=", text)
