"""PyTorch `.pt` checkpoints: OpenAI Whisper releases, OLMoASR releases and OLMoASR training files.

Loaded with `torch.load(weights_only=True)`: tensors, plain containers and numbers only. The one
object the original pickles, its `ModelDimensions` dataclass, is read through a stand-in class that
only collects the fields; any other Python object makes the load fail (no arbitrary code runs).
"""

from __future__ import annotations

import contextlib
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

# Modules under which Whisper-style code pickled its dimension dataclass.
_DIMS_CLASS_PATHS = (
    "olmoasr.config.model_dims.ModelDimensions",  # the original OLMoASR training code
    "olmoasr.model.ModelDimensions",
    "olmoasr.model.dims.ModelDimensions",
    "whisper.model.ModelDimensions",
    "__main__.ModelDimensions",
)

# Wrapper prefixes that DDP, FSDP, activation checkpointing and torch.compile add to parameter names.
_WRAPPER_SEGMENTS = re.compile(r"(?<![^.])(module|_fsdp_wrapped_module|_checkpoint_wrapped_module|_orig_mod)\.")

# Buffers some Whisper versions saved that are not parameters of the network.
_IGNORED_KEYS = {"decoder.mask", "alignment_heads"}


class UnsafeCheckpointError(ValueError):
    pass


class _PickledDims:
    """Stand-in for a pickled dims dataclass: unpickling only fills `__dict__` with its fields."""


def _stand_in(path: str) -> type:
    module, _, name = path.rpartition(".")
    return type(name, (_PickledDims,), {"__module__": module, "__qualname__": name})


_STAND_INS = [_stand_in(p) for p in _DIMS_CLASS_PATHS]


@contextlib.contextmanager
def _allowed_dims_classes():
    scoped = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5
    if scoped is None:
        torch.serialization.add_safe_globals(_STAND_INS)
        yield
        return
    with scoped(_STAND_INS):
        yield


def load_pickle(path: Path) -> Any:
    """`torch.load` restricted to tensors, containers, numbers and dims dataclasses (memory-mapped when possible)."""
    with _allowed_dims_classes():
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except pickle.UnpicklingError as err:
            raise _refusal(err) from None
        except RuntimeError as err:
            if "mmap" not in str(err):
                raise ValueError(f"corrupt or truncated PyTorch checkpoint ({_first_line(err)})") from None
        try:  # files in the legacy (non-zip) format cannot be memory-mapped
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            raise _refusal(err) from None
        except EOFError:
            raise ValueError("empty or truncated PyTorch checkpoint") from None


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split())[:160]


def _refusal(err: Exception) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(f"refusing to unpickle: {refusal_reason(err)}; only tensors, containers and model "
                                 "dimensions load")  # fmt: skip


def refusal_reason(err: Exception) -> str:
    """What a `weights_only` load refused, in a few words (torch's own message is a paragraph of advice)."""
    message = " ".join(str(err).split())
    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        return f"it holds the Python object {found.group(1)}"
    operand = re.search(r"Unsupported operand \d+", message)
    return f"it is not a weights-only PyTorch file ({operand.group(0) if operand else 'unreadable pickle'})"


def dims_to_dict(dims: Any) -> dict[str, int] | None:
    if dims is None:
        return None
    if isinstance(dims, Mapping):
        return dict(dims)
    if isinstance(dims, _PickledDims):
        return dict(vars(dims))
    if hasattr(dims, "__dataclass_fields__"):
        return {name: getattr(dims, name) for name in dims.__dataclass_fields__}
    raise ValueError(f"`dims` is a {type(dims).__name__}, expected a mapping of the ten model dimensions")


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def split_checkpoint(obj: Any) -> tuple[dict[str, int] | None, dict[str, torch.Tensor], Any]:
    """(dims or None, the network's state dict with clean names, alignment heads or None) of a loaded pickle."""
    if _is_state_dict(obj):
        return None, clean_state_dict(obj), None
    if not isinstance(obj, Mapping):
        raise ValueError(f"expected a dict checkpoint, got {type(obj).__name__}")
    for key in ("model_state_dict", "state_dict", "model"):
        if _is_state_dict(obj.get(key)):
            state = obj[key]
            break
    else:
        keys = ", ".join(sorted(map(str, obj))[:8])
        raise ValueError(f"no model weights found (keys: {keys}); a train_state or optimizer file holds no weights")
    return dims_to_dict(obj.get("dims")), clean_state_dict(state), obj.get("alignment_heads")


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if any("flat_param" in key for key in state):
        raise ValueError("this is a sharded FSDP state (flat_param); save a full state dict (the FSDP eval_* file)")
    cleaned = {}
    for key, value in state.items():
        name = _WRAPPER_SEGMENTS.sub("", key)
        if name not in _IGNORED_KEYS:
            cleaned[name] = value
    return cleaned
