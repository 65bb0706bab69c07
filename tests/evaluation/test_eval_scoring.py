"""Normaliser and skip rules on a table of cases; corpus WER with S/D/I; the word-weighted bootstrap."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest

from olmoasr.evaluation.scoring import (
    SKIP_EMPTY,
    SKIP_IGNORED,
    bootstrap_interval,
    corpus_score,
    score_utterance,
    skip_reason,
)
from olmoasr.text import normalize_english


@pytest.mark.parametrize(
    ("reference", "normalized", "reason"),
    [
        ("Hello, World!", "hello world", None),
        ("Mr. Smith paid $25.", "mister smith paid $25", None),
        ("I've got twenty-five apples", "i have got 25 apples", None),
        ("colour", "color", None),
        ("", "", SKIP_EMPTY),
        ("   ", "", SKIP_EMPTY),
        ("[noise] (laughs)", "", SKIP_EMPTY),
        ("uh um hmm", "", SKIP_EMPTY),
        ("ignore_time_segment_in_scoring", "ignore time segment in scoring", SKIP_IGNORED),
        ("IGNORE_TIME_SEGMENT_IN_SCORING", "ignore time segment in scoring", SKIP_IGNORED),
        ("please ignore time segment in scoring now", "please ignore time segment in scoring now", None),
    ],
)
def test_normaliser_and_skip_rules(reference, normalized, reason):
    got = normalize_english(reference)
    assert got == normalized
    assert skip_reason(got) == reason


def test_score_utterance_counts_match_jiwer_after_normalising():
    score = score_utterance("u1", "The cat sat on the mat.", "the cat sat on a hat today")
    expected = jiwer.process_words("the cat sat on the mat", "the cat sat on a hat today")
    assert (
        (score.substitutions, score.deletions, score.insertions, score.hits)
        == (
            expected.substitutions,
            expected.deletions,
            expected.insertions,
            expected.hits,
        )
        == (2, 0, 1, 4)
    )
    assert score.to_dict()["wer"] == pytest.approx(3 / 6)


def test_empty_hypothesis_is_all_deletions():
    score = score_utterance("u", "red green blue", "")
    assert (score.deletions, score.errors, score.reference_words) == (3, 3, 3)


def test_corpus_wer_is_total_errors_over_total_words_not_mean_of_utterances():
    pairs = [("a b c d e f g h i j", "a b c d e f g h i j"), ("hello", "goodbye")]
    scores = [score_utterance(str(i), r, h) for i, (r, h) in enumerate(pairs)]
    result = corpus_score(scores, bootstrap_draws=0)
    assert result.wer == pytest.approx(100 * 1 / 11)  # the mean of utterance WERs would be 50 %
    assert jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]) * 100 == pytest.approx(result.wer)
    assert (result.substitutions, result.reference_words, result.ci_low) == (1, 11, None)


def test_bootstrap_is_seeded_word_weighted_and_brackets_the_wer():
    rng = np.random.default_rng(1)
    words = rng.integers(1, 30, size=200).astype(float)
    errors = np.minimum(words, rng.poisson(words * 0.2)).astype(float)
    low, high = bootstrap_interval(errors, words, draws=1000, seed=7)
    assert (low, high) == bootstrap_interval(errors, words, draws=1000, seed=7)
    wer = 100 * errors.sum() / words.sum()
    assert low < wer < high and high - low < 10

    # The same statistic by hand: corpus WER (ratio of sums) of each resample.
    hand_rng = np.random.default_rng(7)
    picks = hand_rng.integers(0, len(errors), size=(1000, len(errors)))
    hand = errors[picks].sum(axis=1) / words[picks].sum(axis=1)
    assert (low, high) == pytest.approx(tuple(100 * np.quantile(hand, [0.025, 0.975])))
