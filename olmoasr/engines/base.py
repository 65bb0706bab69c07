"""What the long-form loops, batched mode and evaluation need from an inference engine.

An engine holds one Whisper-architecture model and does four things with 30-second windows:
encode log-mel windows into audio features, decode features with one set of `DecodingOptions`
(one temperature, one search), align text tokens to audio positions (word timestamps) and identify
the spoken language. Everything above that (temperature fallback, no-speech skipping, prompts,
the sliding window, VAD chunks, writers) is olmoasr's own code and runs the same on every engine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

    from olmoasr.model.decoding.options import DecodingOptions, DecodingResult
    from olmoasr.model.tokenizer import Tokenizer

AudioFeatures = Any  # an engine's encoded windows [n, n_audio_ctx, width]; `features[rows]` selects windows


@dataclass(frozen=True)
class TokenAlignment:
    """The monotonic path matching text tokens to audio positions (20 ms each), and each token's probability."""

    text_indices: np.ndarray
    time_indices: np.ndarray
    text_token_probs: list[float]


@runtime_checkable
class Engine(Protocol):
    """One loaded model that encodes, decodes, aligns and identifies languages on 30-second windows."""

    name: str  # "torch" or "ctranslate2"

    @property
    def n_mels(self) -> int: ...

    @property
    def n_text_ctx(self) -> int: ...

    @property
    def device(self) -> torch.device:
        """Where log-mel windows should be computed (the engine moves them if it needs to)."""
        ...

    @property
    def precision(self) -> str:
        """The arithmetic in use: float32, float16, bfloat16, int8, int8_float16 ..."""
        ...

    @property
    def is_multilingual(self) -> bool: ...

    @property
    def num_languages(self) -> int: ...

    def encode(self, mel: torch.Tensor) -> AudioFeatures:
        """Log-mel windows [n, n_mels, 3000] (float32) -> audio features."""
        ...

    def decode(
        self,
        features: AudioFeatures,
        options: DecodingOptions,
        generator: torch.Generator | None = None,
        prompts: Sequence[list[int] | None] | None = None,
    ) -> list[DecodingResult]:
        """One decoding pass per window at `options.temperature` with its search; `audio_features` is set.
        `prompts` (token ids or None per window) replaces `options.prompt` when the windows' prompts differ."""
        ...

    def detect_language(self, features: AudioFeatures, tokenizer: Tokenizer) -> list[dict[str, float]]:
        """Per window, the probability of each language code."""
        ...

    def align(
        self,
        features: AudioFeatures,
        tokenizer: Tokenizer,
        text_tokens: list[int],
        num_frames: int,
        medfilt_width: int,
    ) -> TokenAlignment:
        """Align `text_tokens` decoded from ONE window (features [n_audio_ctx, width]) to its first `num_frames`
        mel frames, through the alignment heads' cross-attention."""
        ...

    def transcribe(self, audio: str | os.PathLike | bytes | np.ndarray, **options: Any) -> dict[str, Any]: ...
