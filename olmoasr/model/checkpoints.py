"""Load and save Whisper-architecture weights in every format users have.

Read: OpenAI Whisper `.pt`, OLMoASR release and training `.pt` (wrapper prefixes, optimizer state,
the 51 865-row training embedding), our safetensors file, Hugging Face transformers folders and
CTranslate2 / faster-whisper folders. Write: `openai`, `safetensors`, `hf`, `ctranslate2`.
Every format becomes a `Checkpoint` (dims + state dict with openai-whisper names) first.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from olmoasr.errors import InputError, UsageError
from olmoasr.io.atomic import atomic_output, temporary_sibling
from olmoasr.log import warn
from olmoasr.model import hub
from olmoasr.model.checkpoint_formats import ctranslate2, hf_transformers, torch_pickle
from olmoasr.model.dims import ENGLISH_VOCAB, ModelDimensions
from olmoasr.model.network import Whisper, sinusoids
from olmoasr.model.runtime import resolve_device

SAVE_FORMATS = ("openai", "safetensors", "hf", "ctranslate2")
_SAFETENSORS_FORMAT_TAG = "olmoasr-whisper"
_WHISPER_HEAD_DIM = 64
# Far above every Whisper variant (large-v3: 128 mels, 1500/448 contexts, width 1280, 32 layers, 51 866
# tokens): dims beyond these come from a damaged or hostile file and would ask for terabytes.
_DIM_LIMITS = {"n_mels": 512, "n_audio_ctx": 1 << 16, "n_audio_state": 1 << 14, "n_audio_head": 1 << 10,
               "n_audio_layer": 1 << 10, "n_vocab": 1 << 21, "n_text_ctx": 1 << 16, "n_text_state": 1 << 14,
               "n_text_head": 1 << 10, "n_text_layer": 1 << 10}  # fmt: skip


@dataclass
class Checkpoint:
    dims: ModelDimensions
    state_dict: dict[str, torch.Tensor]
    alignment_heads: Any = None  # [[layer, head], ...], an OpenAI base85 dump, or None for the default
    format: str = ""


# ---- reading ---------------------------------------------------------------------------------------
def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read any supported checkpoint from a local file or folder. Bad files raise a one-line InputError."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"{path}: no such checkpoint file or folder")
    try:
        checkpoint = _read(path)
        check_dims(checkpoint.dims)
        return checkpoint
    except (
        ValueError,
        TypeError,
        KeyError,
        OSError,
        SafetensorError,
        RuntimeError,
        EOFError,
        pickle.UnpicklingError,
    ) as err:
        message = " ".join(str(err).split())[:300] or type(err).__name__
        raise InputError(str(path), "bad_checkpoint", message) from None


def check_dims(dims: ModelDimensions) -> None:
    """Refuse dimensions no Whisper network has, before anything is sized by them."""
    for name, limit in _DIM_LIMITS.items():
        value = getattr(dims, name)
        if value > limit:
            raise ValueError(
                f"dims ask for {name}={value} (at most {limit} is plausible): damaged or not a Whisper model"
            )


def _read(path: Path) -> Checkpoint:
    if path.is_dir():
        if ctranslate2.is_ctranslate2_dir(path):
            return _read_ctranslate2(path)
        if hf_transformers.is_hf_dir(path):
            return _read_hf(path)
        candidates = sorted(p for p in path.iterdir() if p.suffix in (".pt", ".safetensors"))
        if len(candidates) == 1:
            return _read(candidates[0])
        raise ValueError(
            "folder is neither a CTranslate2 model (model.bin) nor a transformers model "
            "(config.json + model.safetensors), nor holds a single .pt / .safetensors file"
        )
    if path.suffix == ".safetensors" or _looks_like_safetensors(path):
        if hf_transformers.is_hf_dir(path.parent) and path.name == hf_transformers.WEIGHTS_FILE:
            return _read_hf(path.parent)
        return _read_safetensors(path)
    if path.name == ctranslate2.MODEL_FILE and ctranslate2.is_ctranslate2_dir(path.parent):
        return _read_ctranslate2(path.parent)
    return _read_torch(path)


def _looks_like_safetensors(path: Path) -> bool:
    """safetensors files open with a u64 header length and a JSON header; PyTorch files are zip or pickle."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size


def _read_torch(path: Path) -> Checkpoint:
    dims_dict, state, heads = torch_pickle.split_checkpoint(torch_pickle.load_pickle(path))
    if dims_dict is None:
        dims = infer_dims(state)
        rows = state["decoder.token_embedding.weight"].shape[0]
        if rows == ENGLISH_VOCAB + 1:
            warn(
                f"{path}: no dims in the file; reading its {rows}-row embedding as OLMoASR training layout "
                "(English vocabulary + padding row)"
            )
            dims = ModelDimensions.from_dict({**dims.to_dict(), "n_vocab": ENGLISH_VOCAB})
    else:
        dims = ModelDimensions.from_dict(dims_dict)
    return Checkpoint(dims, _drop_padding_row(state, dims), heads, "pytorch")


def _drop_padding_row(state: dict[str, torch.Tensor], dims: ModelDimensions) -> dict[str, torch.Tensor]:
    """Training models have one extra embedding row (the padding id = n_vocab); inference has none."""
    key = "decoder.token_embedding.weight"
    rows = state[key].shape[0] if key in state else dims.n_vocab
    if rows == dims.n_vocab + 1:
        state = {**state, key: state[key][: dims.n_vocab]}
    elif rows != dims.n_vocab:
        raise ValueError(f"token embedding has {rows} rows but dims say n_vocab={dims.n_vocab}")
    return state


def infer_dims(state: dict[str, torch.Tensor]) -> ModelDimensions:
    """Dimensions from tensor shapes alone (Whisper heads are always 64 wide)."""
    try:
        conv1 = state["encoder.conv1.weight"]
        embedding = state["decoder.token_embedding.weight"]
        text_ctx = state["decoder.positional_embedding"].shape[0]
    except KeyError as err:
        raise ValueError(f"not a Whisper state dict: {err.args[0]} is missing") from None
    audio_pos = state.get("encoder.positional_embedding")

    def layers(side: str) -> int:
        indices = {int(m.group(1)) for k in state if (m := re.match(rf"^{side}\.blocks\.(\d+)\.", k))}
        return max(indices) + 1 if indices else 0

    width = conv1.shape[0]
    return ModelDimensions(
        n_mels=conv1.shape[1],
        n_audio_ctx=audio_pos.shape[0] if audio_pos is not None else 1500,
        n_audio_state=width,
        n_audio_head=max(1, width // _WHISPER_HEAD_DIM),
        n_audio_layer=layers("encoder"),
        n_vocab=embedding.shape[0],
        n_text_ctx=text_ctx,
        n_text_state=embedding.shape[1],
        n_text_head=max(1, embedding.shape[1] // _WHISPER_HEAD_DIM),
        n_text_layer=layers("decoder"),
    )


def _read_safetensors(path: Path) -> Checkpoint:
    with safe_open(str(path), framework="pt") as fh:
        metadata = fh.metadata() or {}
        state = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    if any(key.startswith("model.") for key in state):
        state = hf_transformers.to_our_names(state)
    state = torch_pickle.clean_state_dict(state)
    dims = ModelDimensions.from_dict(json.loads(metadata["dims"])) if "dims" in metadata else infer_dims(state)
    heads = json.loads(metadata["alignment_heads"]) if "alignment_heads" in metadata else None
    return Checkpoint(dims, _drop_padding_row(state, dims), heads, "safetensors")


def _read_hf(directory: Path) -> Checkpoint:
    dims = hf_transformers.dims_from_config(hf_transformers.read_config(directory))
    state = hf_transformers.to_our_names(hf_transformers.read_weights(directory))
    return Checkpoint(dims, state, hf_transformers.alignment_heads(directory), "hf")


def _read_ctranslate2(directory: Path) -> Checkpoint:
    spec, variables = ctranslate2.read_model_bin(directory / ctranslate2.MODEL_FILE)
    if spec and spec != "WhisperSpec":
        raise ValueError(f"CTranslate2 model is a {spec}, not a WhisperSpec")
    dims, state = ctranslate2.whisper_state_dict(variables)
    heads = ctranslate2.read_config(directory).get("alignment_heads")
    return Checkpoint(dims, state, heads, "ctranslate2")


# ---- building ------------------------------------------------------------------------------------
def model_from_checkpoint(
    checkpoint: Checkpoint, device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> Whisper:
    """A Whisper network holding the checkpoint's weights (built without a throw-away random init)."""
    device = resolve_device(device)
    check_dims(checkpoint.dims)
    state = dict(checkpoint.state_dict)
    with torch.device("meta"):  # shapes only: nothing is allocated until the file's tensors are known to fit
        model = Whisper(checkpoint.dims)
    expected = set(model.state_dict())
    missing = sorted(expected - set(state) - {"encoder.positional_embedding"})
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        parts = [
            f"missing {', '.join(missing[:4])}" if missing else "",
            f"unexpected {', '.join(unexpected[:4])}" if unexpected else "",
        ]
        raise ValueError("weights do not fit a Whisper network: " + "; ".join(p for p in parts if p))
    for name, tensor in model.state_dict().items():
        if name in state and tuple(state[name].shape) != tuple(tensor.shape):
            raise ValueError(f"{name} has shape {list(state[name].shape)}, the network needs {list(tensor.shape)}")
    if "encoder.positional_embedding" not in state:
        state["encoder.positional_embedding"] = sinusoids(checkpoint.dims.n_audio_ctx, checkpoint.dims.n_audio_state)
    model.load_state_dict(state, assign=True)
    heads = torch.zeros(checkpoint.dims.n_text_layer, checkpoint.dims.n_text_head, dtype=torch.bool)
    heads[checkpoint.dims.n_text_layer // 2 :] = True
    model.alignment_heads = heads
    if checkpoint.alignment_heads is not None:
        model.set_alignment_heads(checkpoint.alignment_heads)
    return model.to(device=device, dtype=dtype or torch.float32).eval()


def load_model(
    name_or_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    download_root: str | os.PathLike | None = None,
    *,
    engine: str = "torch",
    compute_type: str | None = None,
    inference: bool = True,
    in_memory: bool = False,
) -> Whisper | Any:
    """Load a model by OLMoASR name (tiny … large-v2), local path (any supported format), Hub repo id
    (org/name, a transformers or CTranslate2 repo) or `tiny.en-offline`; by default the CLI's default
    (OLMoASR small, or offline the installed tiny.en). Weights are float32 unless `dtype` says otherwise;
    `device` defaults to CUDA when available.

    `engine="torch"` (the default) returns the torch `Whisper` network (training, fine-tuning, parity);
    `engine="ctranslate2"` (or "auto" with CTranslate2 installed) returns a `CTranslate2Engine` with the
    same `transcribe`, at `compute_type` (auto, int8, int8_float16, float16, float32).

    `inference` and `in_memory` are accepted for scripts written for the original `olmoasr.load_model`;
    one network serves training and inference here, and files are memory-mapped either way.
    """
    del inference, in_memory
    if name_or_path is None:
        name_or_path = hub.default_model_name(download_root=download_root)
    if engine != "torch":
        from olmoasr.engines import choose_engine

        if choose_engine(engine) == "ctranslate2":
            from olmoasr.engines.ctranslate2_engine import load_ctranslate2

            return load_ctranslate2(name_or_path, device=device, compute_type=compute_type, download_root=download_root)
    path = hub.resolve_model_path(name_or_path, download_root)
    checkpoint = read_checkpoint(path)
    try:
        return model_from_checkpoint(checkpoint, device, dtype)
    except ValueError as err:
        raise InputError(str(path), "bad_checkpoint", str(err)) from None


# ---- saving --------------------------------------------------------------------------------------
def _heads_list(model: Whisper) -> list[list[int]]:
    return model.alignment_heads.nonzero().tolist()


def _cpu_state(model: Whisper) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}


def check_destination(path: str | os.PathLike, fmt: str, overwrite: bool = True) -> Path:
    """Refuse, before any work, a destination the format cannot be written to (one line naming it)."""
    if fmt not in SAVE_FORMATS:
        raise UsageError(f"unknown checkpoint format {fmt!r}; expected one of {', '.join(SAVE_FORMATS)}")
    path = Path(path).expanduser()
    folder_format = fmt in ("hf", "ctranslate2")
    if path.is_dir() and not folder_format:
        raise UsageError(f"{path}: is a folder, but the {fmt} format writes one file; name a file")
    if path.exists() and not path.is_dir() and folder_format:
        raise UsageError(f"{path}: is a file, but the {fmt} format writes a folder; name a new folder")
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: already exists (pass --overwrite to replace it)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UsageError(f"{path}: cannot write into {parent} (permission denied)")
            break
    return path


def save_model(model: Whisper, path: str | os.PathLike, fmt: str = "openai", quantization: str | None = None) -> Path:
    """Write `model` as `openai` (.pt: dims + model_state_dict), `safetensors` (one file, dims in its
    metadata), `hf` (transformers folder) or `ctranslate2` (faster-whisper folder, weights stored as
    `quantization`: int8, float16, ...; default float16, float32 for a float32 model). Returns the path."""
    path = check_destination(path, fmt)
    if fmt == "openai":
        payload = {
            "dims": model.dims.to_dict(),
            "model_state_dict": _cpu_state(model),
            "alignment_heads": _heads_list(model),
        }
        with atomic_output(path) as tmp:
            torch.save(payload, tmp)
    elif fmt == "safetensors":
        metadata = {
            "format": _SAFETENSORS_FORMAT_TAG,
            "dims": json.dumps(model.dims.to_dict()),
            "alignment_heads": json.dumps(_heads_list(model)),
        }
        with atomic_output(path) as tmp:
            save_file(_cpu_state(model), str(tmp), metadata=metadata)
    elif fmt == "hf":
        _write_folder(path, lambda tmp: _write_hf(model, tmp), last=hf_transformers.CONFIG_FILE)
    else:
        _write_folder(path, lambda tmp: _write_ctranslate2(model, tmp, quantization), last=ctranslate2.MODEL_FILE)
    return path


def _write_folder(path: Path, write, last: str) -> None:
    """Write the files into a temporary sibling, then move them in, `last` (what loaders look for) last."""
    tmp = temporary_sibling(path)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        path.mkdir(parents=True, exist_ok=True)
        names = sorted(p.name for p in tmp.iterdir())
        for name in [n for n in names if n != last] + [last]:
            os.replace(tmp / name, path / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_hf(model: Whisper, directory: Path) -> None:
    from olmoasr.model.tokenizer_json import write_tokenizer_files

    tokenizer = model.tokenizer()
    weights = hf_transformers.from_our_names(_cpu_state(model))
    save_file(weights, str(directory / hf_transformers.WEIGHTS_FILE), metadata={"format": "pt"})
    generation = hf_transformers.generation_config_for(tokenizer, _heads_list(model), model.dims.n_text_ctx)
    _write_json(directory / hf_transformers.GENERATION_CONFIG_FILE, generation)
    write_tokenizer_files(tokenizer, model.dims.n_mels, directory)  # tokenizer.json + processor settings
    _write_json(directory / hf_transformers.CONFIG_FILE, hf_transformers.config_for(model.dims, tokenizer))


def _write_ctranslate2(model: Whisper, directory: Path, quantization: str | None) -> None:
    from olmoasr.engines.ctranslate2_convert import write_ctranslate2

    write_ctranslate2(model, directory, quantization)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
