"""Everything that differs between one process, DDP and FSDP2 (`fully_shard`) lives here.

Also: process-group set-up (NCCL on GPU, gloo on CPU), mixed precision, activation checkpointing,
optional torch.compile, and the fp16 loss scaler.

Loss scaling. FSDP2 shards gradients, so a per-rank inf/NaN check (what a plain GradScaler does, and
the original's bf16 FSDP bug, spec §11.1 item 11) can disagree between ranks. Our scaler decides from
the *global* gradient norm that clipping computes anyway (all-reduced across ranks for DDP and FSDP),
so every rank skips or takes the same step. bf16 and fp32 use no scaler.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Runtime:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    strategy: str  # single | ddp | fsdp

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_runtime(strategy: str, device: str = "auto") -> Runtime:
    """Join the process group that torchrun / our launcher describe in env vars (or run alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    # A launched single process asking for DDP/FSDP gets a one-rank group, so that the wrapped code path
    # (gradient buckets, reducer hooks) is what runs and is measured; run alone, it trains unwrapped.
    launched = "MASTER_ADDR" in os.environ and "MASTER_PORT" in os.environ
    wants_group = world > 1 or (launched and strategy in ("ddp", "fsdp"))
    if wants_group and not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if use_cuda else "gloo",
            timeout=datetime.timedelta(minutes=30),
            device_id=dev if use_cuda else None,
            world_size=world,
            rank=rank,
        )
    if strategy == "auto":
        strategy = "ddp" if world > 1 else "single"
    if world == 1 and strategy == "ddp" and not dist.is_initialized():
        strategy = "single"
    return Runtime(rank, world, local_rank, dev, strategy)


def shutdown(runtime: Runtime) -> None:
    if runtime.strategy != "single" and dist.is_initialized():
        dist.destroy_process_group()


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


def all_reduce_sum(values: list[float], runtime: Runtime) -> list[float]:
    tensor = torch.tensor(values, dtype=torch.float64, device=runtime.device)
    if runtime.distributed:
        dist.all_reduce(tensor)
    return tensor.tolist()


def gather_objects(obj: Any, runtime: Runtime) -> list[Any]:
    if not runtime.distributed:
        return [obj]
    out: list[Any] = [None] * runtime.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, runtime: Runtime) -> Any:
    if not runtime.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _block_class() -> type[nn.Module]:
    from olmoasr.model.network import ResidualAttentionBlock

    return ResidualAttentionBlock


def blocks(model: nn.Module) -> list[nn.Module]:
    cls = _block_class()
    return [m for m in model.modules() if isinstance(m, cls)]


def apply_activation_checkpointing(model: nn.Module) -> None:
    """Recompute each residual block in backward (non-reentrant); state-dict keys are unchanged."""
    from torch.utils.checkpoint import checkpoint

    for block in blocks(model):
        block.forward = functools.partial(checkpoint, block.forward, use_reentrant=False)


def wrap_model(model: nn.Module, runtime: Runtime, precision: str, sharding: str = "FULL_SHARD",
               activation_checkpointing: bool = False, compile: bool = False) -> nn.Module:  # fmt: skip
    model.to(runtime.device)
    if activation_checkpointing:
        apply_activation_checkpointing(model)
    if compile:
        for block in blocks(model):
            block.compile()
    if runtime.strategy == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mesh = init_device_mesh(runtime.device.type, (runtime.world_size,))
        dtype = DTYPES[precision]
        # compute in `precision`, reduce gradients in fp32 (the original reduced bf16 grads in bf16)
        policy = MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32)
        reshard = sharding == "FULL_SHARD"
        for block in blocks(model):
            fully_shard(block, mesh=mesh, mp_policy=policy, reshard_after_forward=reshard)
        fully_shard(model, mesh=mesh, mp_policy=policy, reshard_after_forward=reshard)
        return model
    if runtime.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [runtime.device.index] if runtime.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


def autocast(runtime: Runtime, precision: str):
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=runtime.device.type, dtype=DTYPES[precision])


def gradient_sync(model: nn.Module, runtime: Runtime, sync: bool):
    """Skip the gradient all-reduce on all but the last micro-batch of an accumulation."""
    if runtime.strategy == "ddp" and not sync:
        return model.no_sync()
    if runtime.strategy == "fsdp":
        model.set_requires_gradient_sync(sync)
    return contextlib.nullcontext()


def clip_grad_norm(model: nn.Module, max_norm: float) -> float:
    """Clip to `max_norm` (<= 0: only measure) and return the global norm (same on every rank)."""
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else float("inf"))
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return float(norm)


class LossScaler:
    """Dynamic loss scaling for fp16, deciding overflow from the global gradient norm."""

    def __init__(self, enabled: bool, init_scale: float = 2.0**16, growth_interval: int = 2000):
        self.enabled = enabled
        self.scale = init_scale if enabled else 1.0
        self.growth_interval = growth_interval
        self.good_steps = 0

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss * self.scale if self.enabled else loss

    def unscale_(self, model: nn.Module) -> None:
        if not self.enabled:
            return
        inv = 1.0 / self.scale
        for p in model.parameters():
            if p.grad is not None:
                p.grad.mul_(inv)

    def update(self, grad_norm: float) -> bool:
        """Returns whether the optimizer step may be taken."""
        if math.isfinite(grad_norm):
            if self.enabled:
                self.good_steps += 1
                if self.good_steps >= self.growth_interval:
                    self.scale *= 2.0
                    self.good_steps = 0
            return True
        if self.enabled:
            self.scale = max(self.scale / 2.0, 1.0)
            self.good_steps = 0
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "scale": self.scale, "good_steps": self.good_steps,
                "growth_interval": self.growth_interval}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("enabled") == self.enabled:
            self.scale = float(state["scale"])
            self.good_steps = int(state["good_steps"])
