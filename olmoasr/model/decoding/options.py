"""What to decode and how: one frozen options object, validated before any audio is touched."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from olmoasr.errors import UsageError
from olmoasr.model import defaults
from olmoasr.model.languages import language_code

if TYPE_CHECKING:
    from olmoasr.model.network import Whisper

TASKS = ("transcribe", "translate", "lang_id")
NO_SPEECH_POSITIONS = ("sot", "notimestamps")


class DecodingOptionsError(UsageError, ValueError):
    """An impossible or contradictory combination of decoding options."""


def normalize_language(language: str | None) -> str | None:
    """'English', 'en' or 'EN' -> 'en'; unknown names raise DecodingOptionsError."""
    if language is None:
        return None
    try:
        return language_code(language)
    except ValueError as err:
        raise DecodingOptionsError(f"invalid decoding options: {err}") from None


def parse_suppress_tokens(value: str | Iterable[int] | None) -> tuple[int, ...]:
    """'-1' / '-1,220' / [1, 2] / None -> a tuple of ints (-1 stands for the non-speech symbol set)."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        try:
            return tuple(int(part) for part in parts)
        except ValueError:
            raise DecodingOptionsError(f"suppress_tokens must be comma-separated integers, got {value!r}") from None
    return tuple(int(token) for token in value)


@dataclass(frozen=True)
class DecodingOptions:
    """Options for decoding one 30-second window (or a batch of them).

    Search: greedy at temperature 0; `beam_size` beams (with `patience`) at temperature 0;
    `best_of` independent samples at temperature > 0. `length_penalty` None ranks by
    log-prob / length, a value in [0, 1] by the GNMT penalty.
    """

    task: str = "transcribe"
    language: str | None = None
    temperature: float = 0.0
    sample_len: int | None = None
    best_of: int | None = None
    beam_size: int | None = None
    patience: float | None = None
    length_penalty: float | None = None
    prompt: str | list[int] | None = None
    prefix: str | list[int] | None = None
    suppress_tokens: str | Iterable[int] | None = "-1"
    suppress_blank: bool = True
    without_timestamps: bool = False
    max_initial_timestamp: float | None = 1.0
    fp16: bool = True  # openai-whisper's switch, accepted and ignored: the model's dtype decides (model.runtime)
    # Where the no-speech probability is read. "sot": P(<|nospeech|>) right after <|startoftranscript|>
    # (OpenAI Whisper's training). "notimestamps": after <|notimestamps|>, where OLMoASR's training puts
    # <|nospeech|> (spec §11.1 item 10), so silence detection works for OLMoASR checkpoints.
    no_speech_after: str = defaults.NO_SPEECH_AFTER

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise DecodingOptionsError(f"invalid decoding options: {problem}")
        object.__setattr__(self, "language", normalize_language(self.language))
        object.__setattr__(self, "suppress_tokens", parse_suppress_tokens(self.suppress_tokens))
        if isinstance(self.prompt, Sequence) and not isinstance(self.prompt, str):
            object.__setattr__(self, "prompt", list(self.prompt))
        if isinstance(self.prefix, Sequence) and not isinstance(self.prefix, str):
            object.__setattr__(self, "prefix", list(self.prefix))

    def _problem(self) -> str | None:
        if self.task not in TASKS:
            return f"task must be one of {', '.join(TASKS)}, got {self.task!r}"
        if not isinstance(self.temperature, int | float) or not math.isfinite(self.temperature):
            return f"temperature must be a finite number, got {self.temperature!r}"
        if self.temperature < 0:
            return f"temperature must be >= 0, got {self.temperature}"
        if self.beam_size is not None and self.best_of is not None:
            return "beam_size and best_of cannot be given together (beam search is deterministic)"
        if self.beam_size is not None and self.temperature > 0:
            return "beam_size needs temperature 0; use best_of for sampling at temperature > 0"
        if self.best_of is not None and self.temperature == 0:
            return "best_of needs temperature > 0 (greedy decoding at temperature 0 has one outcome)"
        if self.patience is not None and self.beam_size is None:
            return "patience needs beam_size"
        for name in ("beam_size", "best_of", "sample_len"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                return f"{name} must be a positive integer, got {value!r}"
        if self.patience is not None and not self.patience > 0:
            return f"patience must be > 0, got {self.patience}"
        if self.beam_size is not None and round(self.beam_size * (self.patience or 1.0)) < 1:
            return "beam_size x patience must keep at least one candidate"
        if self.length_penalty is not None and not 0 <= self.length_penalty <= 1:
            return f"length_penalty must be between 0 and 1, got {self.length_penalty}"
        if self.no_speech_after not in NO_SPEECH_POSITIONS:
            return f"no_speech_after must be one of {', '.join(NO_SPEECH_POSITIONS)}, got {self.no_speech_after!r}"
        if self.max_initial_timestamp is not None and self.max_initial_timestamp < 0:
            return f"max_initial_timestamp must be >= 0, got {self.max_initial_timestamp}"
        return None

    @property
    def n_group(self) -> int:
        """Sequences decoded per audio window: beams, samples, or 1."""
        return self.beam_size or self.best_of or 1

    def check_model(self, model: Whisper) -> None:
        """Reject what this model cannot do (English-only checkpoints have no language or task tokens)."""
        if model.is_multilingual:
            return
        if self.task == "translate":
            raise DecodingOptionsError("invalid decoding options: task 'translate' needs a multilingual model")
        if self.task == "lang_id":
            raise DecodingOptionsError("invalid decoding options: language detection needs a multilingual model")
        if self.language not in (None, "en"):
            raise DecodingOptionsError(
                f"invalid decoding options: language {self.language!r} on an English-only model (use en)"
            )


@dataclass(frozen=True)
class DecodingResult:
    audio_features: torch.Tensor | None
    language: str
    language_probs: dict[str, float] | None = None
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    avg_logprob: float = math.nan
    no_speech_prob: float = math.nan
    temperature: float = math.nan
    compression_ratio: float = math.nan
