"""Majority vote per document: ties go to the language seen first; no votes -> None."""

from __future__ import annotations

import pytest

from olmoasr.pipeline.lang_id.votes import DocumentVotes, majority


@pytest.mark.parametrize(
    ("sequence", "winner"),
    [
        (["en"], "en"),
        (["en", "de", "de"], "de"),
        (["de", "en", "en", "de"], "de"),  # tie 2-2: first seen wins
        (["en", "de", "fr", "fr", "de"], "de"),  # tie de/fr: de was seen first
        (["fr", "en", "de"], "fr"),
        ([], None),
    ],
)
def test_majority_with_first_seen_tie_break(sequence, winner):
    votes = DocumentVotes()
    votes.see("doc")
    for lang in sequence:
        votes.add("doc", lang)
    assert votes.winner("doc") == winner


def test_merging_shards_keeps_first_seen_order_and_documents_without_votes():
    votes = DocumentVotes()
    votes.merge("a", [("de", 1)])  # shard 1 saw one German segment of a
    votes.see("silent")
    votes.merge("a", [("en", 1)])  # shard 2 saw one English segment: tie -> de (seen first)
    votes.merge("b", [("en", 2), ("fr", 3)])
    assert votes.winners() == {"a": "de", "silent": None, "b": "fr"}
    assert len(votes) == 3 and "silent" in votes
    assert votes.to_json() == {"a": [["de", 1], ["en", 1]], "silent": [], "b": [["en", 2], ["fr", 3]]}
    assert majority({}) is None


def test_length_batches_respect_count_and_padded_audio_budget():
    from olmoasr.pipeline.lang_id.stages import length_batches

    second = 16000
    lengths = [1 * second, 2 * second, 3 * second, 10 * second, 10 * second, 30 * second, 40 * second]
    # at most 3 items, at most 20 s once padded to the batch's longest
    assert length_batches(lengths, 3, 20.0) == [[0, 1, 2], [3, 4], [5], [6]]
    assert length_batches(lengths, 2, 1000.0) == [[0, 1], [2, 3], [4, 5], [6]]
    assert length_batches([], 4, 10.0) == []
