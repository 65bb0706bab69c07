"""The torch engine: olmoasr's own Whisper network (`olmoasr.model.network`) behind the engine interface."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from olmoasr.engines.base import TokenAlignment

if TYPE_CHECKING:
    from olmoasr.model.decoding.options import DecodingOptions, DecodingResult
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import Tokenizer


class TorchEngine:
    """Runs decoding with olmoasr's `DecodingTask` (logit filters, greedy/beam/sampling search) on a `Whisper`."""

    name = "torch"

    def __init__(self, model: Whisper):
        self.model = model

    @property
    def n_mels(self) -> int:
        return self.model.dims.n_mels

    @property
    def n_text_ctx(self) -> int:
        return self.model.dims.n_text_ctx

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def precision(self) -> str:
        return str(self.model.dtype).removeprefix("torch.")

    @property
    def is_multilingual(self) -> bool:
        return self.model.is_multilingual

    @property
    def num_languages(self) -> int:
        return self.model.num_languages

    @torch.inference_mode()
    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        from olmoasr.model.decoding.task import encode_audio

        return encode_audio(self.model, mel if mel.ndim == 3 else mel.unsqueeze(0))

    def decode(
        self,
        features: torch.Tensor,
        options: DecodingOptions,
        generator: torch.Generator | None = None,
        prompts: Sequence[list[int] | None] | None = None,
    ) -> list[DecodingResult]:
        from olmoasr.model.decoding.task import DecodingTask

        return DecodingTask(self.model, options, generator, prompts).run(features)

    def detect_language(self, features: torch.Tensor, tokenizer: Tokenizer) -> list[dict[str, float]]:
        from olmoasr.model.decoding.task import detect_language

        _, probabilities = detect_language(self.model, features, tokenizer)
        return probabilities

    def align(
        self,
        features: torch.Tensor,
        tokenizer: Tokenizer,
        text_tokens: list[int],
        num_frames: int,
        medfilt_width: int,
    ) -> TokenAlignment:
        from olmoasr.model.timing import torch_token_alignment

        return torch_token_alignment(self.model, tokenizer, text_tokens, features, num_frames, medfilt_width)

    def transcribe(self, audio: str | os.PathLike | bytes | np.ndarray, **options: Any) -> dict[str, Any]:
        from olmoasr.model.transcribe import transcribe

        return transcribe(self, audio, **options)

    def __repr__(self) -> str:
        return f"TorchEngine({self.model.dims.n_text_layer}-layer decoder, {self.precision}, {self.device})"
