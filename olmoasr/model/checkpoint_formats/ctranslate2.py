"""CTranslate2 / faster-whisper model directories (model.bin + config.json + vocabulary), read without
CTranslate2 installed (writing goes through CTranslate2's own converter: `olmoasr.engines.ctranslate2_convert`).

model.bin layout (little-endian): u32 binary version, then (version >= 2) the spec name as a string
and a u32 spec revision; u32 variable count; per variable: name, u8 rank, rank x u32 dims, then
(version >= 4) u8 dtype id and u32 byte count, or (older) u8 item size and u32 element count, then the
raw data; (version >= 3) u32 alias count and (alias, target) name pairs. A string is a u16 length
that counts a trailing NUL, the UTF-8 bytes, and the NUL. Quantised weights carry a `<name>_scale`.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from olmoasr.model.dims import ModelDimensions

MODEL_FILE = "model.bin"
SUPPORTED_BINARY_VERSION = 6
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, "bfloat16")  # CTranslate2's DataType order
_ITEM_SIZE_DTYPES = {4: np.float32, 2: np.int16, 1: np.int8}
_WHISPER_HEAD_DIM = 64


class CTranslate2FormatError(ValueError):
    pass


def is_ctranslate2_dir(path: Path) -> bool:
    return path.is_dir() and (path / MODEL_FILE).is_file()


# ---- reading -------------------------------------------------------------------------------------
def _read_exact(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise CTranslate2FormatError("file ends early (truncated model.bin)")
    return data


def _read(fh: BinaryIO, fmt: str) -> int:
    return struct.unpack("<" + fmt, _read_exact(fh, struct.calcsize("<" + fmt)))[0]


def _read_string(fh: BinaryIO) -> str:
    raw = _read_exact(fh, _read(fh, "H"))
    return raw.rstrip(b"\0").decode("utf-8")


def _to_tensor(raw: bytes, dtype, shape: list[int]) -> torch.Tensor:
    if dtype == "bfloat16":
        as_int16 = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy())
        return as_int16.view(torch.bfloat16).reshape(shape)
    return torch.from_numpy(np.frombuffer(raw, dtype=dtype).copy()).reshape(shape)


def read_model_bin(path: Path) -> tuple[str, dict[str, torch.Tensor]]:
    """(spec name, {variable name: tensor}) with aliases resolved and quantised weights dequantised."""
    variables: dict[str, torch.Tensor] = {}
    with open(path, "rb") as fh:
        version = _read(fh, "I")
        if not 1 <= version <= SUPPORTED_BINARY_VERSION:
            raise CTranslate2FormatError(f"unsupported CTranslate2 binary version {version}")
        spec = ""
        if version >= 2:
            spec = _read_string(fh)
            _read(fh, "I")  # spec revision
        for _ in range(_read(fh, "I")):
            name = _read_string(fh)
            shape = [_read(fh, "I") for _ in range(_read(fh, "B"))]
            if version >= 4:
                type_id = _read(fh, "B")
                if type_id >= len(_DTYPES):
                    raise CTranslate2FormatError(f"variable {name} has unknown dtype id {type_id}")
                dtype, n_bytes = _DTYPES[type_id], _read(fh, "I")
            else:
                item_size = _read(fh, "B")
                dtype = _ITEM_SIZE_DTYPES.get(item_size)
                if dtype is None:
                    raise CTranslate2FormatError(f"variable {name} has unknown item size {item_size}")
                n_bytes = _read(fh, "I") * item_size
            variables[name] = _to_tensor(_read_exact(fh, n_bytes), dtype, shape)
        if version >= 3:
            for _ in range(_read(fh, "I")):
                alias, target = _read_string(fh), _read_string(fh)
                if target in variables:
                    variables[alias] = variables[target]
                if target + "_scale" in variables:
                    variables[alias + "_scale"] = variables[target + "_scale"]
    return spec, _dequantize(variables)


def _dequantize(variables: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    result = {}
    for name, value in variables.items():
        if name.endswith("_scale"):
            continue
        scale = variables.get(name + "_scale")
        if scale is not None and value.dtype in (torch.int8, torch.int16):
            scale = scale.float()
            value = value.float() / (scale[:, None] if scale.ndim == 1 and value.ndim == 2 else scale)
        result[name] = value
    return result


def _layer_count(variables: dict[str, torch.Tensor], side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    return max(indices) + 1 if indices else 0


def _heads(variables: dict[str, torch.Tensor], side: str, width: int) -> int:
    stored = variables.get(f"{side}/num_heads")
    return int(stored.item()) if stored is not None else width // _WHISPER_HEAD_DIM


def _split(weight: torch.Tensor, parts: int) -> tuple[torch.Tensor, ...]:
    return tuple(weight.chunk(parts, dim=0))


def whisper_state_dict(variables: dict[str, torch.Tensor]) -> tuple[ModelDimensions, dict[str, torch.Tensor]]:
    """Map CTranslate2 WhisperSpec variables to our parameter names; dims come from the tensor shapes."""
    try:
        conv1 = variables["encoder/conv1/weight"]
        embedding = variables["decoder/embeddings/weight"]
        dims = ModelDimensions(
            n_mels=conv1.shape[1],
            n_audio_ctx=variables["encoder/position_encodings/encodings"].shape[0],
            n_audio_state=conv1.shape[0],
            n_audio_head=_heads(variables, "encoder", conv1.shape[0]),
            n_audio_layer=_layer_count(variables, "encoder"),
            n_vocab=embedding.shape[0],
            n_text_ctx=variables["decoder/position_encodings/encodings"].shape[0],
            n_text_state=embedding.shape[1],
            n_text_head=_heads(variables, "decoder", embedding.shape[1]),
            n_text_layer=_layer_count(variables, "decoder"),
        )
    except KeyError as err:
        raise CTranslate2FormatError(f"not a Whisper model: variable {err.args[0]} is missing") from None

    state: dict[str, torch.Tensor] = {}

    def take(ours: str, theirs: str) -> None:
        if theirs not in variables:
            raise CTranslate2FormatError(f"not a Whisper model: variable {theirs} is missing")
        state[ours] = variables[theirs]

    def layer_norm(ours: str, theirs: str) -> None:
        take(f"{ours}.weight", f"{theirs}/gamma")
        take(f"{ours}.bias", f"{theirs}/beta")

    def linear(ours: str, theirs: str) -> None:
        take(f"{ours}.weight", f"{theirs}/weight")
        take(f"{ours}.bias", f"{theirs}/bias")

    def fused(ours: list[str], theirs: str) -> None:
        weights = _split(variables[f"{theirs}/weight"], len(ours))
        biases = _split(variables[f"{theirs}/bias"], len(ours))
        for name, weight, bias in zip(ours, weights, biases, strict=True):
            state[f"{name}.weight"] = weight
            if not name.endswith(".key"):  # Whisper's key projection has no bias (stored as zeros)
                state[f"{name}.bias"] = bias

    def block(ours: str, theirs: str, cross: bool) -> None:
        layer_norm(f"{ours}.attn_ln", f"{theirs}/self_attention/layer_norm")
        fused([f"{ours}.attn.query", f"{ours}.attn.key", f"{ours}.attn.value"], f"{theirs}/self_attention/linear_0")
        linear(f"{ours}.attn.out", f"{theirs}/self_attention/linear_1")
        if cross:
            layer_norm(f"{ours}.cross_attn_ln", f"{theirs}/attention/layer_norm")
            linear(f"{ours}.cross_attn.query", f"{theirs}/attention/linear_0")
            fused([f"{ours}.cross_attn.key", f"{ours}.cross_attn.value"], f"{theirs}/attention/linear_1")
            linear(f"{ours}.cross_attn.out", f"{theirs}/attention/linear_2")
        layer_norm(f"{ours}.mlp_ln", f"{theirs}/ffn/layer_norm")
        linear(f"{ours}.mlp.0", f"{theirs}/ffn/linear_0")
        linear(f"{ours}.mlp.2", f"{theirs}/ffn/linear_1")

    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    take("encoder.positional_embedding", "encoder/position_encodings/encodings")
    for i in range(dims.n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    layer_norm("encoder.ln_post", "encoder/layer_norm")
    take("decoder.token_embedding.weight", "decoder/embeddings/weight")
    take("decoder.positional_embedding", "decoder/position_encodings/encodings")
    for i in range(dims.n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    layer_norm("decoder.ln", "decoder/layer_norm")
    return dims, state


def read_config(directory: Path) -> dict:
    path = directory / "config.json"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
