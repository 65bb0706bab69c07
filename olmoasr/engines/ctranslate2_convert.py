"""Whisper weights -> a CTranslate2 model directory, written through CTranslate2's own spec classes and
converter, and a cache of converted models keyed by the checkpoint's content and the compute type.

`olmoasr convert --format ctranslate2` and the ctranslate2 engine share `write_ctranslate2`: it fills a
`ctranslate2.specs.WhisperSpec` with the network's tensors and lets `ctranslate2.converters.Converter`
validate, quantise and save it (model.bin, config.json, vocabulary.json); then tokenizer.json and
preprocessor_config.json are added so faster-whisper loads the folder without the Hub.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_text, temporary_sibling

if TYPE_CHECKING:
    from olmoasr.model.dims import ModelDimensions
    from olmoasr.model.network import Whisper

QUANTIZATIONS = ("int8", "int8_float16", "int8_float32", "float16", "bfloat16", "float32")
_HASH_BLOCK = 1 << 22
_FINGERPRINT_CHARS = 20


def require_ctranslate2() -> Any:
    try:
        import ctranslate2
    except ImportError:
        raise UsageError("the ctranslate2 engine needs CTranslate2: pip install 'olmoasr[fast]'") from None
    return ctranslate2


# ---- the spec ------------------------------------------------------------------------------------
def _array(state: dict[str, torch.Tensor], name: str) -> np.ndarray:
    return state[name].detach().to(torch.float32).cpu().numpy()


def _set_norm(spec: Any, state: dict[str, torch.Tensor], name: str) -> None:
    spec.gamma = _array(state, f"{name}.weight")
    spec.beta = _array(state, f"{name}.bias")


def _set_linear(spec: Any, state: dict[str, torch.Tensor], names: list[str]) -> None:
    """One CTranslate2 linear from one or more of ours stacked along the output (q,k,v or k,v fused)."""
    weights = [_array(state, f"{name}.weight") for name in names]
    # Whisper's key projections have no bias; the fused layer holds zeros in their place.
    biases = [
        _array(state, f"{name}.bias") if f"{name}.bias" in state else np.zeros(w.shape[0], np.float32)
        for name, w in zip(names, weights, strict=True)
    ]
    spec.weight = np.concatenate(weights) if len(weights) > 1 else weights[0]
    spec.bias = np.concatenate(biases) if len(biases) > 1 else biases[0]


def _set_block(layer: Any, state: dict[str, torch.Tensor], prefix: str, cross: bool) -> None:
    attention = layer.self_attention
    _set_norm(attention.layer_norm, state, f"{prefix}.attn_ln")
    _set_linear(attention.linear[0], state, [f"{prefix}.attn.query", f"{prefix}.attn.key", f"{prefix}.attn.value"])
    _set_linear(attention.linear[1], state, [f"{prefix}.attn.out"])
    if cross:
        _set_norm(layer.attention.layer_norm, state, f"{prefix}.cross_attn_ln")
        _set_linear(layer.attention.linear[0], state, [f"{prefix}.cross_attn.query"])
        _set_linear(layer.attention.linear[1], state, [f"{prefix}.cross_attn.key", f"{prefix}.cross_attn.value"])
        _set_linear(layer.attention.linear[2], state, [f"{prefix}.cross_attn.out"])
    _set_norm(layer.ffn.layer_norm, state, f"{prefix}.mlp_ln")
    _set_linear(layer.ffn.linear_0, state, [f"{prefix}.mlp.0"])
    _set_linear(layer.ffn.linear_1, state, [f"{prefix}.mlp.2"])


def whisper_spec(
    dims: ModelDimensions,
    state: dict[str, torch.Tensor],
    vocabulary: list[str],
    config: dict[str, Any],
) -> Any:
    """A `ctranslate2.specs.WhisperSpec` holding the network's weights (openai-whisper parameter names)."""
    ctranslate2 = require_ctranslate2()
    spec = ctranslate2.specs.WhisperSpec(dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_text_head)
    encoder = spec.encoder
    for conv in ("conv1", "conv2"):
        getattr(encoder, conv).weight = _array(state, f"encoder.{conv}.weight")
        getattr(encoder, conv).bias = _array(state, f"encoder.{conv}.bias")
    encoder.position_encodings.encodings = _array(state, "encoder.positional_embedding")
    for index, layer in enumerate(encoder.layer):
        _set_block(layer, state, f"encoder.blocks.{index}", cross=False)
    _set_norm(encoder.layer_norm, state, "encoder.ln_post")

    decoder = spec.decoder
    embedding = _array(state, "decoder.token_embedding.weight")
    decoder.embeddings.weight = embedding
    decoder.projection.weight = embedding  # tied output projection (saved once, as an alias)
    decoder.position_encodings.encodings = _array(state, "decoder.positional_embedding")
    for index, layer in enumerate(decoder.layer):
        _set_block(layer, state, f"decoder.blocks.{index}", cross=True)
    _set_norm(decoder.layer_norm, state, "decoder.ln")

    for key, value in config.items():
        setattr(spec.config, key, value)
    spec.register_vocabulary(vocabulary)
    return spec


def write_ctranslate2(model: Whisper, directory: Path, quantization: str | None = None) -> None:
    """Write `model` as a CTranslate2 / faster-whisper folder into `directory` (created or replaced).

    `quantization` is a CTranslate2 weight type (int8, float16, ...); None keeps float16 for a half
    model and float32 otherwise.
    """
    from olmoasr.model.tokenizer_json import byte_level_vocabulary, write_tokenizer_files

    ctranslate2 = require_ctranslate2()
    if quantization is None:
        quantization = "float32" if model.dtype == torch.float32 else "float16"
    if quantization not in QUANTIZATIONS:
        expected = ", ".join(QUANTIZATIONS)
        raise UsageError(f"unknown CTranslate2 weight type {quantization!r}; expected one of {expected}")
    tokenizer = model.tokenizer()
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    config = {
        "alignment_heads": [tuple(pair) for pair in model.alignment_heads.nonzero().tolist()],
        "lang_ids": list(tokenizer.all_language_tokens) if model.is_multilingual else [],
        "suppress_ids": list(tokenizer.non_speech_tokens),
        "suppress_ids_begin": [*tokenizer.encode(" "), tokenizer.eot],
    }
    spec = whisper_spec(model.dims, state, byte_level_vocabulary(tokenizer), config)

    class _SpecConverter(ctranslate2.converters.Converter):
        def _load(self) -> Any:
            return spec

    _SpecConverter().convert(str(directory), quantization=quantization, force=True)
    write_tokenizer_files(tokenizer, model.dims.n_mels, directory)


# ---- the cache -----------------------------------------------------------------------------------
def cache_root() -> Path:
    """$OLMOASR_CACHE, else $XDG_CACHE_HOME/olmoasr, else ~/.cache/olmoasr."""
    explicit = os.environ.get("OLMOASR_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "olmoasr"


def _file_digest(path: Path, memo: dict[str, dict]) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so an unchanged checkpoint is hashed once."""
    stat = path.stat()
    key = str(path.resolve())
    known = memo.get(key)
    if known and known["size"] == stat.st_size and known["mtime_ns"] == stat.st_mtime_ns:
        return known["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
    memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
    return memo[key]["sha256"]


def checkpoint_fingerprint(path: Path, cache: Path | None = None) -> str:
    """A hash of the checkpoint's content (a file, or every file of a folder with its relative name)."""
    cache = cache or cache_root()
    memo_path = cache / "checkpoint-hashes.json"
    memo: dict[str, dict] = {}
    with contextlib.suppress(OSError, ValueError):
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    combined = hashlib.sha256()
    for file in files:
        name = file.name if file == path else file.relative_to(path).as_posix()
        combined.update(name.encode() + b"\0" + _file_digest(file, memo).encode() + b"\n")
    with contextlib.suppress(OSError):
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(memo_path, json.dumps(memo, indent=1) + "\n")
    return combined.hexdigest()[:_FINGERPRINT_CHARS]


def converted_model_dir(
    name_or_path: str | os.PathLike,
    quantization: str,
    download_root: str | os.PathLike | None = None,
    cache: Path | None = None,
) -> Path:
    """A CTranslate2 folder for any checkpoint olmoasr reads: a CTranslate2 folder as it is (CTranslate2
    converts its weights to the compute type on load); anything else converted once into the cache,
    under <content hash>-<quantization>, written to a temporary folder and renamed into place."""
    from olmoasr.model import hub
    from olmoasr.model.checkpoint_formats.ctranslate2 import MODEL_FILE, is_ctranslate2_dir

    path = hub.resolve_model_path(name_or_path, download_root)
    if is_ctranslate2_dir(path):
        return path
    if path.name == MODEL_FILE and is_ctranslate2_dir(path.parent):
        return path.parent
    cache = cache or cache_root()
    target = cache / "ctranslate2" / f"{checkpoint_fingerprint(path, cache)}-{quantization}"
    if (target / MODEL_FILE).is_file():
        return target
    from olmoasr.log import warn
    from olmoasr.model.checkpoints import load_model

    warn(f"converting {path} to CTranslate2 ({quantization}) once, into {target}")
    model = load_model(path, device="cpu")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_sibling(target)
    try:
        write_ctranslate2(model, staging, quantization)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / MODEL_FILE).is_file():  # not another process finishing the same conversion first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
