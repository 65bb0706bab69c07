"""Where inference runs and in what precision: the one place that picks a device and a dtype.

The default device is the first CUDA GPU when there is one, else the CPU. The default inference dtype
is float16 on a GPU (Whisper's weights were trained for it, and SDPA's flash kernels need half
precision) and float32 on a CPU (openai-whisper's exact results). bfloat16 is a choice on either:
on a CPU with native bfloat16 (AVX512-BF16 or AMX) it roughly halves the weights' memory traffic.
float16 on a CPU is refused rather than silently replaced: its kernels there are slow or missing.
"""

from __future__ import annotations

import torch

from olmoasr.errors import UsageError

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """None or 'auto' -> the default device; 'cpu', 'cuda', 'cuda:N' checked against this machine."""
    if device is None or device == "auto":
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise UsageError(f"device {device!r}: expected auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {device}: no CUDA device is available here (use cpu or auto)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise UsageError(f"device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """'float16' / 'fp16' / torch.float16 ... -> torch.float16; None or 'auto' -> None (the device's default)."""
    if dtype is None or isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype.lower() == "auto":
        return None
    if isinstance(dtype, str) and dtype.lower() in DTYPES:
        return DTYPES[dtype.lower()]
    raise UsageError(f"dtype {dtype!r}: expected auto, float32, float16 or bfloat16")


def inference_dtype(device: str | torch.device, dtype: str | torch.dtype | None = None) -> torch.dtype:
    """The dtype to decode in on `device`: the requested one if the device supports it, else the default."""
    device = torch.device(device)
    requested = parse_dtype(dtype)
    if requested is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if requested == torch.float16 and device.type == "cpu":
        raise UsageError("float16 needs a CUDA device; on a CPU use float32 (default) or bfloat16")
    return requested


def fp16_request(fp16: bool | None) -> str | None:
    """openai-whisper's `fp16` switch as a dtype request: True -> 'float16', False -> 'float32', None -> auto."""
    if fp16 is None:
        return None
    return "float16" if fp16 else "float32"


def warn_if_fp16_ignored(fp16: bool | None, precision: str) -> None:
    """openai-whisper's per-call `fp16` switch: precision is chosen when a model is loaded, so a request
    that differs from the model's precision is ignored, and said once."""
    if fp16 is None or fp16 == precision.endswith("float16"):
        return
    from olmoasr.log import warn

    warn(f"fp16={fp16} ignored: the model runs in {precision}; choose the precision when loading it")
