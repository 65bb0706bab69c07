"""Hugging Face transformers Whisper folders: config.json + model.safetensors (or shards / pytorch_model.bin)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from olmoasr.model.checkpoint_formats.torch_pickle import load_pickle
from olmoasr.model.dims import ModelDimensions

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
SHARD_INDEX_FILE = "model.safetensors.index.json"
GENERATION_CONFIG_FILE = "generation_config.json"

_LAYER_RENAMES = [
    ("self_attn_layer_norm", "attn_ln"),
    ("self_attn.q_proj", "attn.query"),
    ("self_attn.k_proj", "attn.key"),
    ("self_attn.v_proj", "attn.value"),
    ("self_attn.out_proj", "attn.out"),
    ("encoder_attn_layer_norm", "cross_attn_ln"),
    ("encoder_attn.q_proj", "cross_attn.query"),
    ("encoder_attn.k_proj", "cross_attn.key"),
    ("encoder_attn.v_proj", "cross_attn.value"),
    ("encoder_attn.out_proj", "cross_attn.out"),
    ("final_layer_norm", "mlp_ln"),
    ("fc1", "mlp.0"),
    ("fc2", "mlp.2"),
]
_TOP_RENAMES = {
    "model.encoder.conv1.weight": "encoder.conv1.weight",
    "model.encoder.conv1.bias": "encoder.conv1.bias",
    "model.encoder.conv2.weight": "encoder.conv2.weight",
    "model.encoder.conv2.bias": "encoder.conv2.bias",
    "model.encoder.embed_positions.weight": "encoder.positional_embedding",
    "model.encoder.layer_norm.weight": "encoder.ln_post.weight",
    "model.encoder.layer_norm.bias": "encoder.ln_post.bias",
    "model.decoder.embed_tokens.weight": "decoder.token_embedding.weight",
    "model.decoder.embed_positions.weight": "decoder.positional_embedding",
    "model.decoder.layer_norm.weight": "decoder.ln.weight",
    "model.decoder.layer_norm.bias": "decoder.ln.bias",
}
_LAYER_KEY = re.compile(r"^model\.(encoder|decoder)\.layers\.(\d+)\.(.+)$")


def is_hf_dir(path: Path) -> bool:
    if not (path.is_dir() and (path / CONFIG_FILE).is_file()):
        return False
    return any((path / name).is_file() for name in (WEIGHTS_FILE, SHARD_INDEX_FILE, "pytorch_model.bin"))


def read_config(directory: Path) -> dict[str, Any]:
    with open(directory / CONFIG_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def dims_from_config(config: Mapping[str, Any]) -> ModelDimensions:
    if config.get("model_type", "whisper") != "whisper":
        raise ValueError(f"config.json describes a {config.get('model_type')!r} model, not whisper")
    try:
        return ModelDimensions(
            n_mels=config["num_mel_bins"],
            n_audio_ctx=config["max_source_positions"],
            n_audio_state=config["d_model"],
            n_audio_head=config["encoder_attention_heads"],
            n_audio_layer=config["encoder_layers"],
            n_vocab=config["vocab_size"],
            n_text_ctx=config["max_target_positions"],
            n_text_state=config["d_model"],
            n_text_head=config["decoder_attention_heads"],
            n_text_layer=config["decoder_layers"],
        )
    except KeyError as err:
        raise ValueError(f"config.json lacks {err.args[0]!r}") from None


def read_weights(directory: Path) -> dict[str, torch.Tensor]:
    if (directory / WEIGHTS_FILE).is_file():
        return load_file(directory / WEIGHTS_FILE)
    if (directory / SHARD_INDEX_FILE).is_file():
        with open(directory / SHARD_INDEX_FILE, encoding="utf-8") as fh:
            shards = sorted(set(json.load(fh)["weight_map"].values()))
        weights: dict[str, torch.Tensor] = {}
        for shard in shards:
            weights.update(load_file(directory / shard))
        return weights
    weights = load_pickle(directory / "pytorch_model.bin")  # weights_only: a pickled payload is refused
    if not isinstance(weights, Mapping):
        raise ValueError(f"pytorch_model.bin holds a {type(weights).__name__}, not a state dict")
    return dict(weights)


def to_our_names(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = {}
    for key, value in weights.items():
        if key == "proj_out.weight":  # tied to the token embedding
            continue
        if key in _TOP_RENAMES:
            state[_TOP_RENAMES[key]] = value
            continue
        match = _LAYER_KEY.match(key)
        if not match:
            raise ValueError(f"unexpected weight {key!r} for a Whisper model")
        side, index, rest = match.groups()
        for theirs, ours in _LAYER_RENAMES:
            if rest.startswith(theirs + "."):
                rest = ours + rest[len(theirs) :]
                break
        state[f"{side}.blocks.{index}.{rest}"] = value
    return state


def from_our_names(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    inverse_top = {ours: theirs for theirs, ours in _TOP_RENAMES.items()}
    weights = {}
    for key, value in state.items():
        if key in inverse_top:
            weights[inverse_top[key]] = value
            continue
        side, _, index, rest = key.split(".", 3)
        for theirs, ours in _LAYER_RENAMES:
            if rest.startswith(ours + "."):
                rest = theirs + rest[len(ours) :]
                break
        weights[f"model.{side}.layers.{index}.{rest}"] = value
    return weights


def alignment_heads(directory: Path) -> list[list[int]] | None:
    path = directory / GENERATION_CONFIG_FILE
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        heads = json.load(fh).get("alignment_heads")
    return [list(map(int, pair)) for pair in heads] if heads else None


def config_for(dims: ModelDimensions, tokenizer) -> dict[str, Any]:
    """A transformers `WhisperConfig` dict for these dimensions."""
    return {
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "activation_function": "gelu",
        "num_mel_bins": dims.n_mels,
        "max_source_positions": dims.n_audio_ctx,
        "d_model": dims.n_audio_state,
        "encoder_attention_heads": dims.n_audio_head,
        "encoder_layers": dims.n_audio_layer,
        "encoder_ffn_dim": 4 * dims.n_audio_state,
        "vocab_size": dims.n_vocab,
        "max_target_positions": dims.n_text_ctx,
        "decoder_attention_heads": dims.n_text_head,
        "decoder_layers": dims.n_text_layer,
        "decoder_ffn_dim": 4 * dims.n_text_state,
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "use_cache": True,
        "bos_token_id": tokenizer.eot,
        "eos_token_id": tokenizer.eot,
        "pad_token_id": tokenizer.eot,
        "decoder_start_token_id": tokenizer.sot,
        "begin_suppress_tokens": [tokenizer.encode(" ")[0], tokenizer.eot],
        "torch_dtype": "float32",
    }


def generation_config_for(tokenizer, heads: list[list[int]], max_length: int) -> dict[str, Any]:
    return {
        "alignment_heads": heads,
        "bos_token_id": tokenizer.eot,
        "eos_token_id": tokenizer.eot,
        "pad_token_id": tokenizer.eot,
        "decoder_start_token_id": tokenizer.sot,
        "no_timestamps_token_id": tokenizer.no_timestamps,
        "begin_suppress_tokens": [tokenizer.encode(" ")[0], tokenizer.eot],
        "suppress_tokens": list(tokenizer.non_speech_tokens),
        "max_length": max_length,
        "is_multilingual": tokenizer.encoding.name.startswith("olmoasr-multilingual"),
    }
