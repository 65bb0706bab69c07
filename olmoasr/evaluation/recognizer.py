"""The paper's decoding for evaluation, over an olmoasr model.

Short-form: each clip cut to 30 s, log-mel on the model's device, one batched greedy decode without
timestamps (English). A clip shorter than 30 s is padded as `short_feature_padding` says
(`olmoasr.model.features.log_mel_batch`): "audio" pads the samples before the log-mel, as the original's
eval, Hugging Face transformers and the Open ASR Leaderboard do; "mel" pads the spectrogram, as
`transcribe` (and openai-whisper's `transcribe`) does.

Long-form: the model's long-form transcription with beam 5 / best-of 5 and temperature fallback 0, 0.2,
..., 1.0. Everything is overridable through `DecodeSettings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from olmoasr.errors import UsageError

PAPER_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class DecodeSettings:
    language: str = "en"
    short_beam_size: int | None = None  # None: greedy, as the paper
    short_temperature: float = 0.0
    long_beam_size: int | None = 5
    long_best_of: int | None = 5
    long_temperature: tuple[float, ...] = PAPER_TEMPERATURES
    long_form_batched: bool = False  # decode a recording's 30 s chunks in batches (VAD-cut), not sequentially
    long_form_batch_size: int = 16
    # The original's transcribe never passed the previous text as a prompt (its models were trained
    # without <|startofprev|>), so the paper's long-form numbers are unconditioned.
    condition_on_previous_text: bool = False
    sample_len: int | None = None  # cap on new tokens per window (None: the model's default, 224)
    short_feature_padding: str = "audio"

    def __post_init__(self) -> None:
        from olmoasr.model.features import FEATURE_PADDINGS

        if self.short_feature_padding not in FEATURE_PADDINGS:
            raise UsageError(
                f"feature padding must be one of {', '.join(FEATURE_PADDINGS)}, got {self.short_feature_padding!r}"
            )
        for name in ("short_beam_size", "long_beam_size", "long_best_of"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"{name.replace('_', '-')} must be >= 1, got {value}")
        if self.short_beam_size is not None and self.short_temperature > 0:
            raise UsageError("a short-form beam size needs temperature 0")
        if any(t < 0 for t in self.long_temperature) or not self.long_temperature:
            raise UsageError(f"temperatures must be >= 0, got {self.long_temperature}")

    def describe(self) -> dict[str, Any]:
        return asdict(self)


class ModelRecognizer:
    """Implements `runner.Recognizer` with olmoasr decoding on any engine (torch network or CTranslate2)."""

    def __init__(self, model: Any, settings: DecodeSettings):
        from olmoasr.engines import as_engine

        if hasattr(model, "eval"):
            model.eval()
        self.engine = as_engine(model)
        self.settings = settings
        self.device = str(self.engine.device)
        self.dtype = self.engine.precision
        self.engine_name = self.engine.name
        self._fp16 = self.dtype.endswith("float16")  # precision is chosen when the model is loaded

    def short_form(self, batch: Sequence[np.ndarray]) -> list[str]:
        import torch

        from olmoasr.model.decoding import DecodingOptions
        from olmoasr.model.features import log_mel_batch

        s = self.settings
        engine = self.engine
        mel = log_mel_batch(batch, engine.n_mels, pad=s.short_feature_padding, device=engine.device)
        options = DecodingOptions(
            language=s.language,
            without_timestamps=True,
            temperature=s.short_temperature,
            beam_size=s.short_beam_size,
            sample_len=s.sample_len,
            fp16=self._fp16,
        )
        with torch.inference_mode():
            results = engine.decode(engine.encode(mel), options)
        return [r.text.strip() for r in results]

    def long_form(self, audio: np.ndarray) -> str:
        import torch

        from olmoasr.model.transcribe import transcribe

        s = self.settings
        options: dict[str, Any] = {
            "language": s.language,
            "task": "transcribe",
            "temperature": s.long_temperature,
            "fp16": self._fp16,
            "without_timestamps": False,
            "condition_on_previous_text": s.condition_on_previous_text,
        }
        if s.long_beam_size is not None:
            options["beam_size"] = s.long_beam_size
        if s.long_best_of is not None:  # the fallback uses beam search at T=0 and best-of sampling above
            options["best_of"] = s.long_best_of
        if s.sample_len is not None:
            options["sample_len"] = s.sample_len
        with torch.inference_mode():
            if s.long_form_batched:
                from olmoasr.model.batched import transcribe_batched

                options.pop("condition_on_previous_text")
                (result,) = transcribe_batched(self.engine, [audio], batch_size=s.long_form_batch_size, **options)
                if isinstance(result, Exception):
                    raise result
            else:
                result = transcribe(self.engine, audio, **options)
        return str(result["text"]).strip()

    def synchronize(self) -> None:
        if self.engine.device.type == "cuda" and self.engine.name == "torch":
            import torch

            torch.cuda.synchronize(self.engine.device)


def load_recognizer(
    model: Any,
    settings: DecodeSettings,
    device: str | None = None,
    dtype: str | None = None,
    *,
    engine: str | None = "auto",
    compute_type: str | None = None,
) -> ModelRecognizer:
    """A model object, or a name / path / Hub id loaded on `engine` (torch at `dtype`, CTranslate2 at
    `compute_type`), as a recogniser."""
    if isinstance(model, str):
        from olmoasr.engines import load_engine

        model = load_engine(model, engine=engine, device=device, dtype=dtype, compute_type=compute_type)
    return ModelRecognizer(model, settings)
