"""Word error rates: one pair (`word_error_rate`, rapidfuzz) and a corpus with its error counts (jiwer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
from rapidfuzz.distance import Levenshtein

_SPACE_RUNS = re.compile(r"\s\s+")


def wer_words(text: str) -> list[str]:
    """The words jiwer's default transform makes of a text: runs of 2+ whitespace become one space, the
    ends are stripped, and the text is split at single spaces (so a lone tab or newline joins two words).
    A printable text (whose only whitespace is the space) without two spaces in a row splits as `str.split`
    does: normalised texts are, and take that way."""
    if "  " not in text and text.isprintable():
        return text.split()
    return [word for word in _SPACE_RUNS.sub(" ", text).strip().split(" ") if word]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """`jiwer.wer(reference, hypothesis)` for one pair, exactly, without building its alignment: jiwer's
    (S + D + I) / (S + D + H) is the word-level Levenshtein distance over the number of reference words.
    A reference without words gives the number of hypothesis words (jiwer's count of insertions)."""
    ref, hyp = wer_words(reference), wer_words(hypothesis)
    if not ref:
        return float(len(hyp))
    return Levenshtein.distance(ref, hyp) / len(ref)


@dataclass(frozen=True)
class WerResult:
    wer: float  # fraction (can exceed 1)
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int


def corpus_wer(references: Sequence[str], hypotheses: Sequence[str]) -> WerResult:
    """WER over all pairs at once (total errors / total reference words), like the paper reports it.

    Pairs whose reference is empty contribute their insertions; an all-empty corpus has WER 0.
    """
    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses differ in length")
    subs = dels = ins = hits = 0
    pairs = [(r, h) for r, h in zip(references, hypotheses, strict=True)]
    nonempty = [(r, h) for r, h in pairs if r.strip()]
    if nonempty:
        out = jiwer.process_words([r for r, _ in nonempty], [h for _, h in nonempty])
        subs, dels, ins, hits = out.substitutions, out.deletions, out.insertions, out.hits
    ins += sum(len(h.split()) for r, h in pairs if not r.strip())
    ref_words = subs + dels + hits
    errors = subs + dels + ins
    wer = errors / ref_words if ref_words else (0.0 if errors == 0 else float(errors))
    return WerResult(wer, subs, dels, ins, hits, ref_words)


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Character edit distance / reference length (both as given: normalise them first)."""
    if not reference:
        return 0.0 if not hypothesis else float(len(hypothesis))
    return float(jiwer.cer(reference, hypothesis))
