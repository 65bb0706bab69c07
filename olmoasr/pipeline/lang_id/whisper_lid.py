"""The `whisper` backend: language detection of a multilingual Whisper-format checkpoint.

Each segment becomes one 30 s log-mel window the way Whisper's own detection sees it (the samples,
then zero padding whose log-mel floor follows the segment's own peak), the encoder runs once per batch,
and the decoder's first step scores the language tokens (`olmoasr.model.decoding.detect_language`).
"""

from __future__ import annotations

import numpy as np

from olmoasr.errors import UsageError
from olmoasr.pipeline.lang_id.backends import Prediction


def resolve_whisper_checkpoint(model: str | None) -> str:
    """A local checkpoint path (file or folder; Hub ids go through the Hub cache) of a multilingual model."""
    if not model:
        raise UsageError(
            "--backend whisper needs --model: a multilingual Whisper-format checkpoint (a .pt/.safetensors file, "
            "a transformers or CTranslate2 folder, or a Hub repo id such as openai/whisper-small)"
        )
    from olmoasr.model.checkpoints import read_checkpoint
    from olmoasr.model.dims import MULTILINGUAL_VOCAB
    from olmoasr.model.hub import resolve_model_path

    path = resolve_model_path(model)
    dims = read_checkpoint(path).dims
    if dims.n_vocab < MULTILINGUAL_VOCAB:
        raise UsageError(
            f"{path}: an English-only checkpoint (vocabulary {dims.n_vocab}) has no language tokens; "
            "--backend whisper needs a multilingual model"
        )
    return str(path)


class WhisperLanguageClassifier:
    """Batched top-1 language of each waveform by a multilingual Whisper-architecture model."""

    name = "whisper"

    def __init__(self, checkpoint: str, device: str = "cpu"):

        from olmoasr.model.checkpoints import load_model
        from olmoasr.model.decoding.task import get_decoding_tokenizer
        from olmoasr.model.runtime import inference_dtype

        self.model = load_model(checkpoint, device=device, dtype=inference_dtype(device)).eval()
        if not self.model.is_multilingual:
            raise UsageError(f"{checkpoint}: an English-only checkpoint cannot detect the language")
        self.tokenizer = get_decoding_tokenizer(self.model, None, "transcribe")
        self.device = device

    def classify(self, waves: list[np.ndarray]) -> list[Prediction | None]:
        import torch

        from olmoasr.model.decoding.task import detect_language
        from olmoasr.model.features import log_mel_batch

        results: list[Prediction | None] = [None] * len(waves)
        keep = [i for i, w in enumerate(waves) if len(w) > 0]
        if not keep:
            return results
        n_mels = self.model.dims.n_mels
        mels = log_mel_batch([waves[i] for i in keep], n_mels, pad="audio", device=self.device)
        with torch.inference_mode():
            _, probabilities = detect_language(self.model, mels, self.tokenizer)
        for i, probs in zip(keep, probabilities, strict=True):
            language = max(probs, key=probs.get)
            results[i] = Prediction(language, float(probs[language]))
        return results
