"""Atomic, resumable checkpoints and the exported inference checkpoint.

A checkpoint is a directory `<ckpt_dir>/step_XXXXXXXX/` (or `epoch_XXXXXXXX/`, never pruned). It is
written as `.tmp-step_XXXXXXXX/`; `meta.json` is written last (fsynced) and the directory is then
renamed, so a directory with a `meta.json` under its final name is complete — a writer killed at any
moment leaves only a `.tmp-*` directory, which resume ignores and the next save removes.

Contents: DDP / one process: `model.pt` and `optim.pt` (plain state dicts, keys without `module.`);
FSDP: `dcp/` (torch.distributed.checkpoint, sharded, one file per rank); always `train_state.pt`
(step, scheduler, scaler, every rank's RNG states and data-stream positions, config).

The export is the OpenAI/OLMoASR release format `{"dims": {...}, "model_state_dict": {...}}`
(fp32, consolidated), which `olmoasr.load_model` and `olmoasr transcribe --model` read directly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_output
from olmoasr.train.parallel import Runtime, barrier, gather_objects, unwrap

META = "meta.json"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    step: int
    kind: str
    meta: dict[str, Any]


def _is_complete(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(TMP_PREFIX) and (path / META).is_file()


def read_checkpoint(path: str | os.PathLike[str]) -> CheckpointInfo:
    path = Path(path)
    if not _is_complete(path):
        raise UsageError(f"{path}: not a complete checkpoint directory (no {META})")
    meta = json.loads((path / META).read_text())
    return CheckpointInfo(path, int(meta["step"]), str(meta.get("kind", "step")), meta)


def list_checkpoints(ckpt_dir: str | os.PathLike[str]) -> list[CheckpointInfo]:
    """Complete checkpoints, oldest first (by step, then kind)."""
    root = Path(ckpt_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if _is_complete(child):
            try:
                found.append(read_checkpoint(child))
            except (ValueError, KeyError, UsageError):
                continue
    return sorted(found, key=lambda c: (c.step, c.kind != "step"))


def latest_checkpoint(ckpt_dir: str | os.PathLike[str]) -> CheckpointInfo | None:
    found = list_checkpoints(ckpt_dir)
    return found[-1] if found else None


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_metadata(tmp: Path, meta: dict[str, Any]) -> None:
    """The completion marker: written last, fsynced."""
    with atomic_output(tmp / META) as out:
        out.write_text(json.dumps(meta, indent=2, sort_keys=True))


def save_checkpoint(
    ckpt_dir: Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    runtime: Runtime,
    train_state: dict[str, Any],
    kind: str = "step",
    keep_last: int = 2,
) -> Path:
    """Collective: every rank calls it. Returns the final directory."""
    name = f"{kind}_{step:08d}"
    final = ckpt_dir / name
    tmp = ckpt_dir / f"{TMP_PREFIX}{name}"
    if runtime.is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    barrier(runtime)
    per_rank = gather_objects({"rng": rng_state(), "data": train_state.pop("data_position")}, runtime)
    if runtime.strategy == "fsdp":
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_sd, optim_sd = get_state_dict(model, optimizer)
        dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp / "dcp"))
    elif runtime.is_main:
        torch.save(unwrap(model).state_dict(), tmp / "model.pt")
        torch.save(optimizer.state_dict(), tmp / "optim.pt")
    if runtime.is_main:
        torch.save({**train_state, "per_rank": per_rank}, tmp / "train_state.pt")
        meta = {"step": step, "kind": kind, "strategy": runtime.strategy, "world_size": runtime.world_size,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "files": sorted(p.name for p in tmp.iterdir())}  # fmt: skip
        write_metadata(tmp, meta)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _prune(ckpt_dir, keep_last)
    barrier(runtime)
    return final


def _prune(ckpt_dir: Path, keep_last: int) -> None:
    rolling = [c for c in list_checkpoints(ckpt_dir) if c.kind == "step"]
    for old in rolling[:-keep_last]:
        shutil.rmtree(old.path, ignore_errors=True)
    for stale in ckpt_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def load_checkpoint(
    info: CheckpointInfo,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    runtime: Runtime,
) -> dict[str, Any]:
    """Restore model + optimizer in place; returns the train state with this rank's `rng` and `data`."""
    saved_strategy = info.meta.get("strategy")
    state = torch.load(info.path / "train_state.pt", map_location="cpu", weights_only=False)
    if (saved_strategy == "fsdp") != (runtime.strategy == "fsdp"):
        raise UsageError(
            f"{info.path}: saved with strategy {saved_strategy}, cannot resume with {runtime.strategy} "
            "(start a new run with --init-from on its export.pt instead)"
        )
    if runtime.strategy == "fsdp":
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        model_sd, optim_sd = get_state_dict(model, optimizer)
        loaded = {"model": model_sd, "optim": optim_sd}
        dcp.load(loaded, checkpoint_id=str(info.path / "dcp"))
        set_state_dict(model, optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optim"])
    else:
        unwrap(model).load_state_dict(torch.load(info.path / "model.pt", map_location=runtime.device))
        optimizer.load_state_dict(torch.load(info.path / "optim.pt", map_location=runtime.device))
    per_rank = state.pop("per_rank")
    if len(per_rank) != runtime.world_size:
        raise UsageError(
            f"{info.path}: saved by {len(per_rank)} ranks, now {runtime.world_size}; an exact resume needs the "
            "same world size (or start a new run with --init-from its export.pt)"
        )
    state["rng"] = per_rank[runtime.rank]["rng"]
    state["data_position"] = per_rank[runtime.rank]["data"]
    return state


def full_state_dict(model: nn.Module, runtime: Runtime) -> dict[str, torch.Tensor] | None:
    """Consolidated fp32 CPU state dict on rank 0 (collective for FSDP); None on other ranks."""
    if runtime.strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    else:
        sd = unwrap(model).state_dict() if runtime.is_main else {}
    if not runtime.is_main:
        return None
    return {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).clone() for k, v in sd.items()}


def export_inference(state_dict: dict[str, torch.Tensor], dims: Any, path: Path) -> Path:
    """Write the release format atomically (rank 0 only)."""
    dims_dict = dataclasses.asdict(dims) if dataclasses.is_dataclass(dims) else dict(dims)
    with atomic_output(path) as tmp:
        torch.save({"dims": dims_dict, "model_state_dict": state_dict}, tmp)
    return path
