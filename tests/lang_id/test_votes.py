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
