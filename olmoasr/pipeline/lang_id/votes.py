"""Per-document majority vote over segment language predictions (ties -> the language seen first)."""

from __future__ import annotations

from collections.abc import Iterable


class DocumentVotes:
    """Votes per document id, in the order documents and languages were first seen.

    A document can be registered without votes (all its segments were no-speech or failed); its
    winner is then None, never a default language.
    """

    def __init__(self) -> None:
        self._votes: dict[str, dict[str, int]] = {}

    def see(self, doc_id: str) -> None:
        self._votes.setdefault(doc_id, {})

    def add(self, doc_id: str, language: str, count: int = 1) -> None:
        counts = self._votes.setdefault(doc_id, {})
        counts[language] = counts.get(language, 0) + count

    def merge(self, doc_id: str, counts: Iterable[tuple[str, int]]) -> None:
        self.see(doc_id)
        for language, count in counts:
            self.add(doc_id, language, count)

    def winner(self, doc_id: str) -> str | None:
        return majority(self._votes.get(doc_id, {}))

    def winners(self) -> dict[str, str | None]:
        return {doc_id: majority(counts) for doc_id, counts in self._votes.items()}

    def to_json(self) -> dict[str, list[list[str | int]]]:
        return {doc_id: [[lang, n] for lang, n in counts.items()] for doc_id, counts in self._votes.items()}

    def __len__(self) -> int:
        return len(self._votes)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._votes


def majority(counts: dict[str, int]) -> str | None:
    """The most voted language; on a tie the one inserted first (dicts keep insertion order)."""
    best, best_count = None, 0
    for language, count in counts.items():
        if count > best_count:
            best, best_count = language, count
    return best
