"""Corpus-level word error rate with its error counts (jiwer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer


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
