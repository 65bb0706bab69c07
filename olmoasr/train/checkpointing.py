"""Atomic, resumable checkpoints and the exported inference checkpoint.

A checkpoint is a directory `<ckpt_dir>/step_XXXXXXXX/` (or `epoch_XXXXXXXX/`, never pruned). It is
written as `.tmp-step_XXXXXXXX/`; `meta.json` is written last (fsynced) and the directory is then
renamed, so a directory with a `meta.json` under its final name is complete — a writer killed at any
moment leaves only a `.tmp-*` directory, which resume ignores and the next save removes.

Contents: DDP / one process: `model.pt` and `optim.pt` (plain state dicts, keys without `module.`);
FSDP: `dcp/` (torch.distributed.checkpoint, sharded, one file per rank); always `train_state.json`
(step, scheduler, scaler, every rank's RNG states and data-stream positions, config). `meta.json` lists
every file with its size; resume skips a newest checkpoint that lacks one (or whose size differs) and
takes the previous complete one.

Nothing here unpickles code: the train state is JSON, the weights load with `weights_only=True`, and an
FSDP checkpoint's pickled `.metadata` is checked against an allow-list before DCP reads it
(`olmoasr.train.safe_dcp`). A copied run folder is therefore as safe to resume as it is to read.

The export is the OpenAI/OLMoASR release format `{"dims": {...}, "model_state_dict": {...}}`
(fp32, consolidated), which `olmoasr.load_model` and `olmoasr transcribe --model` read directly.
"""

from __future__ import annotations

import base64
import contextlib
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

from olmoasr.errors import OlmoasrError, UsageError
from olmoasr.io.atomic import atomic_output
from olmoasr.train.parallel import Runtime, barrier, gather_objects, unwrap

META = "meta.json"
TRAIN_STATE = "train_state.json"
TMP_PREFIX = ".tmp-"


class CheckpointWriteError(OlmoasrError):
    """A checkpoint or export could not be written (disk full, permissions); earlier checkpoints are intact."""


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    step: int
    kind: str
    meta: dict[str, Any]


def _is_complete(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(TMP_PREFIX) and (path / META).is_file()


def checkpoint_info(path: str | os.PathLike[str]) -> CheckpointInfo:
    """The step, kind and metadata of a complete training checkpoint directory (its `meta.json`)."""
    path = Path(path)
    if not _is_complete(path):
        raise UsageError(f"{path}: not a complete checkpoint directory (no {META})")
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        return CheckpointInfo(path, int(meta["step"]), str(meta.get("kind", "step")), meta)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{path / META}: unreadable checkpoint metadata ({type(err).__name__})") from None


def damage(info: CheckpointInfo) -> str | None:
    """What is wrong with a checkpoint against its own file list (None when every file is there whole)."""
    sizes = info.meta.get("sizes")
    expected = sizes if isinstance(sizes, dict) else dict.fromkeys(info.meta.get("files") or [])
    for name, size in sorted(expected.items()):
        target = info.path / name
        if not target.exists():
            return f"{name} is missing"
        if size is not None and target.is_file() and target.stat().st_size != size:
            return f"{name} has {target.stat().st_size} bytes, {META} says {size}"
    if TRAIN_STATE not in expected:
        return f"no {TRAIN_STATE} (written by an older olmoasr whose pickled train state is not loaded)"
    return None


def verified_checkpoint(path: str | os.PathLike[str]) -> CheckpointInfo:
    """A checkpoint named by the user (`--resume DIR`): complete and undamaged, or one clear error."""
    info = checkpoint_info(path)
    problem = damage(info)
    if problem:
        raise UsageError(f"{info.path}: damaged checkpoint, {problem}")
    return info


@dataclass(frozen=True)
class ResumePoint:
    checkpoint: CheckpointInfo | None
    skipped: list[tuple[CheckpointInfo, str]]  # newer checkpoints passed over, with what is wrong with each

    def report(self) -> str | None:
        if not self.skipped:
            return None
        damaged = "; ".join(f"{info.path.name} ({problem})" for info, problem in self.skipped)
        use = f"resuming from {self.checkpoint.path}" if self.checkpoint else "no intact checkpoint is left"
        return f"skipped damaged checkpoint(s) {damaged}; {use}"


def resume_point(ckpt_dir: str | os.PathLike[str]) -> ResumePoint:
    """The newest intact checkpoint, and the damaged newer ones skipped on the way."""
    skipped: list[tuple[CheckpointInfo, str]] = []
    for info in reversed(list_checkpoints(ckpt_dir)):
        problem = damage(info)
        if problem is None:
            return ResumePoint(info, skipped)
        skipped.append((info, problem))
    return ResumePoint(None, skipped)


def list_checkpoints(ckpt_dir: str | os.PathLike[str]) -> list[CheckpointInfo]:
    """Complete checkpoints, oldest first (by step, then kind)."""
    root = Path(ckpt_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if _is_complete(child):
            try:
                found.append(checkpoint_info(child))
            except (ValueError, KeyError, UsageError):
                continue
    return sorted(found, key=lambda c: (c.step, c.kind != "step"))


def latest_checkpoint(ckpt_dir: str | os.PathLike[str]) -> CheckpointInfo | None:
    found = list_checkpoints(ckpt_dir)
    return found[-1] if found else None


def _bytes_to_text(tensor: torch.Tensor) -> str:
    return base64.b64encode(tensor.cpu().numpy().tobytes()).decode("ascii")


def _text_to_bytes(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)


def rng_state() -> dict[str, Any]:
    """Every RNG this process draws from, as plain JSON values."""
    version, internal, gauss = random.getstate()
    generator = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {**generator, "state": {**generator["state"], "key": generator["state"]["key"].tolist()}},
        "torch": _bytes_to_text(torch.get_rng_state()),
    }
    if torch.cuda.is_available():
        state["cuda"] = [_bytes_to_text(s) for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    generator = state["numpy"]
    key = np.asarray(generator["state"]["key"], dtype=np.uint32)
    np.random.set_state({**generator, "state": {**generator["state"], "key": key}})
    torch.set_rng_state(_text_to_bytes(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_text_to_bytes(s) for s in state["cuda"]])


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
        with _writing(final, tmp):
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
    barrier(runtime)
    per_rank = gather_objects({"rng": rng_state(), "data": train_state.pop("data_position")}, runtime)
    if runtime.strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import get_state_dict

        from olmoasr.train import safe_dcp

        model_sd, optim_sd = get_state_dict(model, optimizer)
        with _writing(final, tmp if runtime.is_main else None):
            safe_dcp.save({"model": model_sd, "optim": optim_sd}, tmp / "dcp")
    elif runtime.is_main:
        with _writing(final, tmp):
            torch.save(unwrap(model).state_dict(), tmp / "model.pt")
            torch.save(optimizer.state_dict(), tmp / "optim.pt")
    if runtime.is_main:
        with _writing(final, tmp):
            (tmp / TRAIN_STATE).write_text(json.dumps({**train_state, "per_rank": per_rank}), encoding="utf-8")
            sizes = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
            meta = {"step": step, "kind": kind, "strategy": runtime.strategy, "world_size": runtime.world_size,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": sorted(p.name for p in tmp.iterdir()), "sizes": sizes}  # fmt: skip
            write_metadata(tmp, meta)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        _prune(ckpt_dir, keep_last)
    barrier(runtime)
    return final


@contextlib.contextmanager
def _writing(final: Path, tmp: Path | None):
    """Turn a failed write (disk full, permissions) into one line; remove the partial `.tmp-*` directory."""
    try:
        yield
    except (OSError, RuntimeError) as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointWriteError(f"{final}: could not write checkpoint ({_write_failure(err, final.parent)}); "
                                   "earlier complete checkpoints are kept") from None  # fmt: skip


def _write_failure(err: BaseException, directory: Path) -> str:
    if isinstance(err, OSError) and err.strerror:
        reason = err.strerror
    else:
        reason = " ".join(str(err).split())[:160] or type(err).__name__
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return reason
    return f"{reason}; {free / 1e6:.0f} MB free there"


def _prune(ckpt_dir: Path, keep_last: int) -> None:
    rolling = [c for c in list_checkpoints(ckpt_dir) if c.kind == "step" and damage(c) is None]
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
    state = _read_train_state(info.path / TRAIN_STATE)
    if (saved_strategy == "fsdp") != (runtime.strategy == "fsdp"):
        raise UsageError(
            f"{info.path}: saved with strategy {saved_strategy}, cannot resume with {runtime.strategy} "
            "(start a new run with --init-from on its export.pt instead)"
        )
    if runtime.strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        from olmoasr.train import safe_dcp

        model_sd, optim_sd = get_state_dict(model, optimizer)
        loaded = {"model": model_sd, "optim": optim_sd}
        safe_dcp.load(loaded, info.path / "dcp")
        set_state_dict(model, optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optim"])
    else:
        unwrap(model).load_state_dict(_load_tensors(info.path / "model.pt", runtime.device))
        optimizer.load_state_dict(_load_tensors(info.path / "optim.pt", runtime.device))
    per_rank = state.pop("per_rank")
    if len(per_rank) != runtime.world_size:
        raise UsageError(
            f"{info.path}: saved by {len(per_rank)} ranks, now {runtime.world_size}; an exact resume needs the "
            "same world size (or start a new run with --init-from its export.pt)"
        )
    state["rng"] = per_rank[runtime.rank]["rng"]
    state["data_position"] = per_rank[runtime.rank]["data"]
    return state


def _read_train_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: unreadable train state ({type(err).__name__})") from None
    if not isinstance(state, dict) or not isinstance(state.get("per_rank"), list):
        raise UsageError(f"{path}: not an olmoasr train state (no per-rank RNG and data positions)")
    return state


def _load_tensors(path: Path, device: torch.device) -> Any:
    """A state dict saved with `torch.save`: tensors and plain values only, never pickled code."""
    import pickle

    from olmoasr.model.checkpoint_formats.torch_pickle import refusal_reason

    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UsageError(f"{path}: refusing to unpickle, {refusal_reason(err)}") from None
    except (OSError, RuntimeError, EOFError) as err:
        raise UsageError(f"{path}: corrupt or truncated ({' '.join(str(err).split())[:160]})") from None


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


def export_inference(
    state_dict: dict[str, torch.Tensor], dims: Any, path: Path, alignment_heads: list[list[int]] | None = None
) -> Path:
    """Write the release format atomically (rank 0 only), with the word-timestamp alignment heads
    (`[[layer, head], ...]`) as `save_model` writes them."""
    dims_dict = dataclasses.asdict(dims) if dataclasses.is_dataclass(dims) else dict(dims)
    payload: dict[str, Any] = {"dims": dims_dict, "model_state_dict": state_dict}
    if alignment_heads is not None:
        payload["alignment_heads"] = alignment_heads
    try:
        with atomic_output(path) as tmp:
            torch.save(payload, tmp)
    except (OSError, RuntimeError) as err:
        raise CheckpointWriteError(f"{path}: could not write ({_write_failure(err, path.parent)})") from None
    return path
