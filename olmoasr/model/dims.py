"""Model dimensions: the ten numbers that fix a Whisper-architecture network (spec §7.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

ENGLISH_VOCAB = 51864
MULTILINGUAL_VOCAB = 51865
MULTILINGUAL_V3_VOCAB = 51866


@dataclass(frozen=True)
class ModelDimensions:
    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"ModelDimensions.{f.name} must be a positive int, got {value!r}")
        if self.n_audio_state % self.n_audio_head or self.n_text_state % self.n_text_head:
            raise ValueError("state width must be divisible by the number of heads")
        if self.n_audio_state != self.n_text_state:
            raise ValueError("cross-attention needs n_audio_state == n_text_state")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelDimensions:
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"model dimensions lack {', '.join(missing)}")
        return cls(**{n: int(data[n]) for n in names})


def _variant(n_state: int, n_head: int, n_layer: int, n_vocab: int = ENGLISH_VOCAB, n_mels: int = 80):
    return ModelDimensions(
        n_mels=n_mels,
        n_audio_ctx=1500,
        n_audio_state=n_state,
        n_audio_head=n_head,
        n_audio_layer=n_layer,
        n_vocab=n_vocab,
        n_text_ctx=448,
        n_text_state=n_state,
        n_text_head=n_head,
        n_text_layer=n_layer,
    )


_SIZES = {
    "tiny": (384, 6, 4),
    "base": (512, 8, 6),
    "small": (768, 12, 12),
    "medium": (1024, 16, 24),
    "large": (1280, 20, 32),
}

# OLMoASR variants are English-only ("tiny" == "tiny.en"); the bare multilingual OpenAI layouts are
# reachable as "<size>-multilingual", and large-v3 as "large-v3" (128 mel bins, 100 languages).
VARIANTS: dict[str, ModelDimensions] = {}
for _name, (_state, _head, _layer) in _SIZES.items():
    VARIANTS[_name] = _variant(_state, _head, _layer)
    VARIANTS[f"{_name}.en"] = VARIANTS[_name]
    VARIANTS[f"{_name}-multilingual"] = _variant(_state, _head, _layer, n_vocab=MULTILINGUAL_VOCAB)
VARIANTS["large-v2"] = VARIANTS["large"]
VARIANTS["large-v3"] = _variant(1280, 20, 32, n_vocab=MULTILINGUAL_V3_VOCAB, n_mels=128)
VARIANTS["large-v3-turbo"] = replace(VARIANTS["large-v3"], n_text_layer=4)


def variant_dims(name: str) -> ModelDimensions:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown model variant {name!r}; expected one of {', '.join(VARIANTS)}") from None
