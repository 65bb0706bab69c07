"""Scoring as the paper does it: Whisper's English normaliser on both sides, corpus-level WER, skip rules.

Unlike the original's error bars (characters as weights), the bootstrap here resamples utterances and
recomputes the corpus WER of each resample, so each utterance weighs by its reference words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import jiwer
import numpy as np

from olmoasr.text import corpus_wer, normalize_english

IGNORE_SEGMENT = "ignore time segment in scoring"  # Hub5/TED-LIUM marker, after normalisation
SKIP_EMPTY = "empty_reference"
SKIP_IGNORED = "ignore_time_segment"


def skip_reason(normalized_reference: str) -> str | None:
    """Why a reference is left out of scoring (None: it is scored)."""
    text = normalized_reference.strip()
    if not text:
        return SKIP_EMPTY
    if text == IGNORE_SEGMENT:
        return SKIP_IGNORED
    return None


@dataclass(frozen=True)
class UtteranceScore:
    id: str
    reference: str
    hypothesis: str
    reference_normalized: str
    hypothesis_normalized: str
    substitutions: int
    deletions: int
    insertions: int
    hits: int

    @property
    def reference_words(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def to_dict(self) -> dict:
        out = asdict(self)
        out["reference_words"] = self.reference_words
        out["wer"] = self.errors / self.reference_words if self.reference_words else None
        return out


def score_utterance(uid: str, reference: str, hypothesis: str, reference_normalized: str | None = None):
    """Align one normalised pair (the reference must not normalise to empty: see `skip_reason`)."""
    ref_norm = normalize_english(reference) if reference_normalized is None else reference_normalized
    hyp_norm = normalize_english(hypothesis)
    aligned = jiwer.process_words(ref_norm, hyp_norm)
    return UtteranceScore(
        uid,
        reference,
        hypothesis,
        ref_norm,
        hyp_norm,
        aligned.substitutions,
        aligned.deletions,
        aligned.insertions,
        aligned.hits,
    )


@dataclass(frozen=True)
class CorpusScore:
    wer: float  # percent
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int
    utterances: int
    ci_low: float | None  # percent, bootstrap
    ci_high: float | None


def corpus_score(
    scores: Sequence[UtteranceScore], bootstrap_draws: int = 1000, seed: int = 0, level: float = 0.95
) -> CorpusScore:
    """Corpus WER over all scored utterances (total errors / total reference words), with a bootstrap CI."""
    total = corpus_wer([s.reference_normalized for s in scores], [s.hypothesis_normalized for s in scores])
    low = high = None
    if scores and bootstrap_draws > 0:
        errors = np.array([s.errors for s in scores], dtype=np.float64)
        words = np.array([s.reference_words for s in scores], dtype=np.float64)
        low, high = bootstrap_interval(errors, words, bootstrap_draws, seed, level)
    return CorpusScore(
        wer=100.0 * total.wer,
        substitutions=total.substitutions,
        deletions=total.deletions,
        insertions=total.insertions,
        hits=total.hits,
        reference_words=total.reference_words,
        utterances=len(scores),
        ci_low=low,
        ci_high=high,
    )


def bootstrap_interval(
    errors: np.ndarray, words: np.ndarray, draws: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval (in percent) of corpus WER over `draws` resamples of utterances with replacement."""
    rng = np.random.default_rng(seed)
    n = len(errors)
    wers = np.empty(draws, dtype=np.float64)
    chunk = max(1, 2_000_000 // max(n, 1))  # bound the index matrix's memory
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        picks = rng.integers(0, n, size=(stop - start, n))
        err_sum = errors[picks].sum(axis=1)
        word_sum = words[picks].sum(axis=1)
        wers[start:stop] = np.divide(err_sum, word_sum, out=np.zeros_like(err_sum), where=word_sum > 0)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(wers, [tail, 1.0 - tail])
    return 100.0 * float(low), 100.0 * float(high)
