"""Reading an FSDP checkpoint (torch.distributed.checkpoint) without unpickling code.

DCP stores its index, `.metadata`, with plain `pickle` and reads it back with `pickle.load`; it reads
non-tensor values (optimizer hyper-parameters) with `torch.load(weights_only=False)`. A checkpoint folder
copied from elsewhere could therefore run code on resume. Before DCP touches the folder, every
`.metadata` file is unpickled here with an allow-list of DCP's own index classes, torch sizes and dtypes;
the planner below loads the non-tensor values with `weights_only=True`.

DCP wraps every rank's error in a `CheckpointException` (a BaseException whose text is a traceback);
`save` and `load` here re-raise the first rank's own error instead, so callers report it in one line.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import DefaultLoadPlanner
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.planner import ReadItem

from olmoasr.errors import UsageError
from olmoasr.model.checkpoint_formats.torch_pickle import refusal_reason

_DCP_MODULES = ("torch.distributed.checkpoint.metadata",)
_ALLOWED = {
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("torch.serialization", "_get_layout"),
    ("torch", "Size"),
    ("pathlib", "Path"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("collections", "OrderedDict"),
}
_TORCH_CONSTANTS = (torch.dtype, torch.layout, torch.memory_format)


class _IndexUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in _DCP_MODULES and not name.startswith("__"):
            return super().find_class(module, name)
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), _TORCH_CONSTANTS):
            return getattr(torch, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a checkpoint index")


def check_metadata(dcp_dir: Path) -> None:
    """Refuse (one line) an FSDP checkpoint whose `.metadata` would load anything but DCP's index."""
    indexes = sorted(dcp_dir.glob("*.metadata"))
    if not indexes:
        raise UsageError(f"{dcp_dir}: no .metadata index (not a sharded FSDP checkpoint)")
    for index in indexes:
        try:
            with open(index, "rb") as fh:
                _IndexUnpickler(fh).load()
        except pickle.UnpicklingError as err:
            raise UsageError(f"{index}: refusing to unpickle ({err})") from None
        except (OSError, EOFError, ValueError, TypeError, AttributeError) as err:
            raise UsageError(f"{index}: corrupt checkpoint index ({type(err).__name__})") from None


class WeightsOnlyLoadPlanner(DefaultLoadPlanner):
    """DCP's default planner, but non-tensor values must load with `weights_only=True` first."""

    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        try:
            torch.load(value, weights_only=True)
        except pickle.UnpicklingError as err:
            where = read_item.dest_index.fqn
            raise UsageError(f"checkpoint value {where}: refusing to unpickle, {refusal_reason(err)}") from None
        value.seek(0)
        super().load_bytes(read_item, value)


def _first_failure(err: CheckpointException) -> BaseException:
    for failure in err.failures.values():
        exc = failure[0] if isinstance(failure, tuple) else failure
        if isinstance(exc, BaseException):
            return exc
    return RuntimeError("distributed checkpoint failed")


def save(state: dict[str, Any], directory: Path) -> None:
    try:
        dcp.save(state, checkpoint_id=str(directory))
    except CheckpointException as err:
        raise _first_failure(err) from None


def load(state: dict[str, Any], directory: Path) -> None:
    """Fill `state` in place from a sharded checkpoint, refusing anything that would unpickle code."""
    check_metadata(directory)
    try:
        dcp.load(state, checkpoint_id=str(directory), planner=WeightsOnlyLoadPlanner())
    except CheckpointException as err:
        failure = _first_failure(err)
        if isinstance(failure, UsageError):
            raise failure from None
        raise UsageError(f"{directory}: cannot load ({type(failure).__name__}: {failure})") from None
