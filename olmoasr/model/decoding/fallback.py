"""Temperature fallback: re-decode a window at the next temperature while its output looks broken."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from olmoasr.model import defaults
from olmoasr.model.decoding.options import DecodingOptions, DecodingOptionsError, DecodingResult

if TYPE_CHECKING:
    from olmoasr.engines.base import Engine
    from olmoasr.model.network import Whisper


def temperature_schedule(start: float | None = None, step: float | None = None) -> tuple[float, ...]:
    """Fallback temperatures from `start` up to 1.0 in steps of `step` (defaults 0.0 and 0.2); step 0: (start,)."""
    start = defaults.TEMPERATURE if start is None else float(start)
    step = defaults.TEMPERATURE_STEP if step is None else float(step)
    if step <= 0 or start >= 1.0:
        return (start,)
    steps = int((1.0 - start) / step + 1e-6)
    return tuple(round(start + i * step, 6) for i in range(steps + 1))


DEFAULT_TEMPERATURES = temperature_schedule()


def as_temperatures(value: float | Sequence[float]) -> tuple[float, ...]:
    temperatures = (float(value),) if isinstance(value, int | float) else tuple(float(t) for t in value)
    if not temperatures:
        raise DecodingOptionsError("invalid decoding options: at least one temperature is needed")
    if any(not math.isfinite(t) or t < 0 for t in temperatures):
        raise DecodingOptionsError(f"invalid decoding options: temperatures must be >= 0, got {temperatures}")
    return temperatures


@dataclass(frozen=True)
class FallbackPolicy:
    """The temperature schedule, the search used at each temperature, and when a window counts as
    failed (retry hotter) or as silence (skip it).

    Beam search (`beam_size`, `patience`) runs at temperature 0, best-of-N sampling (`best_of`)
    above it, so both may be given for one schedule.
    """

    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    compression_ratio_threshold: float | None = defaults.COMPRESSION_RATIO_THRESHOLD
    logprob_threshold: float | None = defaults.LOGPROB_THRESHOLD
    no_speech_threshold: float | None = defaults.NO_SPEECH_THRESHOLD
    beam_size: int | None = None
    best_of: int | None = None
    patience: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperatures", as_temperatures(self.temperatures))
        if self.beam_size is not None and 0.0 not in self.temperatures:
            raise DecodingOptionsError("invalid decoding options: beam_size needs temperature 0 in the schedule")
        if self.best_of is not None and not any(t > 0 for t in self.temperatures):
            raise DecodingOptionsError("invalid decoding options: best_of needs a temperature > 0 in the schedule")

    def looks_silent(self, result: DecodingResult) -> bool:
        """Probably no speech: the no-speech probability is high and the text is not confident."""
        if self.no_speech_threshold is None or not result.no_speech_prob > self.no_speech_threshold:
            return False
        return self.logprob_threshold is None or not result.avg_logprob > self.logprob_threshold

    def needs_retry(self, result: DecodingResult) -> bool:
        too_repetitive = (
            self.compression_ratio_threshold is not None and result.compression_ratio > self.compression_ratio_threshold
        )
        too_unlikely = self.logprob_threshold is not None and result.avg_logprob < self.logprob_threshold
        if not (too_repetitive or too_unlikely):
            return False
        silent = (
            self.no_speech_threshold is not None and result.no_speech_prob > self.no_speech_threshold and too_unlikely
        )
        return not silent

    def options_at(self, options: DecodingOptions, temperature: float) -> DecodingOptions:
        """The window options at one temperature: beam search at 0, best-of-N sampling above it."""
        if temperature > 0:
            return dataclasses.replace(
                options, temperature=temperature, beam_size=None, patience=None, best_of=self.best_of
            )
        return dataclasses.replace(
            options, temperature=temperature, best_of=None, beam_size=self.beam_size, patience=self.patience
        )

    def check(self, options: DecodingOptions) -> None:
        """Build every temperature's options once, so a bad combination fails before any decoding."""
        for temperature in self.temperatures:
            self.options_at(options, temperature)


@torch.inference_mode()
def decode_with_fallback(
    model: Whisper | Engine,
    mel: torch.Tensor,
    options: DecodingOptions,
    policy: FallbackPolicy,
    generator: torch.Generator | None = None,
    prompts: Sequence[list[int] | None] | None = None,
    keep: str = "last",
) -> list[DecodingResult]:
    """Decode a batch of windows on any engine; windows that fail are retried at the next temperature.

    The encoder runs once; retries reuse the audio features. `prompts`: one prompt per window (the
    previous text of each window's recording) instead of `options.prompt`. A window that fails at
    every temperature keeps its last attempt (`keep="last"`, openai-whisper's rule) or its most
    likely one, by average log-probability (`keep="best"`, batched mode).
    """
    from olmoasr.engines import as_engine

    engine = as_engine(model)
    features = engine.encode(mel if mel.ndim == 3 else mel.unsqueeze(0))
    if keep not in ("last", "best"):
        raise ValueError(f"keep must be 'last' or 'best', got {keep!r}")
    results: list[DecodingResult | None] = [None] * features.shape[0]
    pending = list(range(features.shape[0]))
    for temperature in policy.temperatures:
        all_rows = len(pending) == features.shape[0]
        rows = features if all_rows else features[pending]
        window_options = policy.options_at(options, temperature)
        if prompts is None:
            decoded = engine.decode(rows, window_options, generator)
        else:
            row_prompts = list(prompts) if all_rows else [prompts[row] for row in pending]
            decoded = engine.decode(rows, window_options, generator, prompts=row_prompts)
        retry = []
        for row, result in zip(pending, decoded, strict=True):
            failed = policy.needs_retry(result)
            previous = results[row]
            if keep == "last" or not failed or previous is None or not previous.avg_logprob >= result.avg_logprob:
                results[row] = result
            if failed:
                retry.append(row)
        pending = retry
        if not pending:
            break
    return [result for result in results if result is not None]
