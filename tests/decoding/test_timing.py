"""Word-timing math against openai-whisper's (DTW path, median filter) and punctuation merging."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmoasr.model.timing import WordTiming, dtw_path, median_filter, merge_punctuations

whisper_timing = pytest.importorskip("whisper.timing")


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (3, 3), (9, 40), (40, 300)])
def test_dtw_matches_reference(shape):
    cost = np.random.default_rng(sum(shape)).standard_normal(shape)
    expected = whisper_timing.dtw_cpu(cost)
    tokens, frames = dtw_path(cost)
    np.testing.assert_array_equal(tokens, expected[0])
    np.testing.assert_array_equal(frames, expected[1])


def test_dtw_path_is_monotonic_and_complete():
    tokens, frames = dtw_path(np.random.default_rng(0).random((12, 80)))
    assert (tokens[0], frames[0], tokens[-1], frames[-1]) == (0, 0, 11, 79)
    assert np.all(np.diff(tokens) >= 0) and np.all(np.diff(frames) >= 0)


@pytest.mark.parametrize("width", [1, 3, 7])
def test_median_filter_matches_reference(width):
    x = torch.randn(3, 5, 41)
    assert torch.equal(median_filter(x, width), whisper_timing.median_filter(x, width))
    assert torch.equal(median_filter(torch.tensor([[1.0, 9.0, 2.0]]), 7), torch.tensor([[1.0, 9.0, 2.0]]))


def test_punctuation_merges_into_neighbouring_words():
    words = [WordTiming(w, [i], i, i + 1, 1.0) for i, w in enumerate([' "', "Hi", ",", " there", ".", '"'])]
    merge_punctuations(words, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    assert [w.word for w in words if w.word] == [' "Hi,', ' there."']
