"""Inference engines behind one small interface (`Engine`): olmoasr's torch network or CTranslate2.

The decoding algorithm (fallback, no-speech, prompts, the long-form window, batched VAD chunks, word
timestamps) is olmoasr's and drives either engine; see `olmoasr.engines.base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from olmoasr.engines.base import Engine, TokenAlignment

if TYPE_CHECKING:
    import torch

    from olmoasr.model.network import Whisper

__all__ = ["ENGINES", "Engine", "TokenAlignment", "as_engine", "choose_engine", "describe", "load_engine"]

ENGINES = ("auto", "torch", "ctranslate2")


def ctranslate2_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ctranslate2") is not None


def choose_engine(requested: str | None = "auto") -> str:
    """'auto' -> 'ctranslate2' when CTranslate2 is installed, else 'torch'; other names are checked."""
    requested = requested or "auto"
    if requested not in ENGINES:
        from olmoasr.errors import UsageError

        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {requested!r}")
    if requested == "auto":
        return "ctranslate2" if ctranslate2_available() else "torch"
    return requested


def describe(engine: Engine) -> str:
    """One line naming the engine in use, e.g. 'engine: ctranslate2 (int8, cpu, 2 threads)'."""
    threads = getattr(engine, "cpu_threads", None)
    if threads is None and engine.device.type == "cpu":
        import torch

        threads = torch.get_num_threads()
    where = f"{engine.device}, {threads} threads" if engine.device.type == "cpu" else str(engine.device)
    line = f"engine: {engine.name} ({engine.precision}, {where})"
    if engine.name == "torch" and not ctranslate2_available():
        line += "; pip install 'olmoasr[fast]' for the faster CTranslate2 engine"
    return line


def load_engine(
    name_or_path: str | None,
    *,
    engine: str | None = "auto",
    device: str | torch.device | None = None,
    compute_type: str | None = None,
    dtype: str | torch.dtype | None = None,
    download_root: str | None = None,
) -> Engine:
    """Load a checkpoint on the chosen engine: torch at `dtype` (default: float16 on CUDA, float32 on CPU)
    or CTranslate2 at `compute_type` (default auto; an explicit float16/float32 `dtype` stands for it)."""
    import torch

    chosen = choose_engine(engine)
    if chosen == "ctranslate2":
        from olmoasr.engines.ctranslate2_engine import load_ctranslate2
        from olmoasr.model.runtime import parse_dtype

        requested = parse_dtype(dtype)
        if compute_type is None and requested in (torch.float16, torch.float32):
            compute_type = str(requested).removeprefix("torch.")
        if name_or_path is None:
            from olmoasr.model.hub import default_model_name

            name_or_path = default_model_name(download_root=download_root)
        return load_ctranslate2(name_or_path, device=device, compute_type=compute_type, download_root=download_root)
    from olmoasr.engines.torch_engine import TorchEngine
    from olmoasr.model.checkpoints import load_model
    from olmoasr.model.runtime import inference_dtype, resolve_device

    target = resolve_device(device)
    dtype = inference_dtype(target, dtype)
    network = load_model(name_or_path, device=target, dtype=dtype, download_root=download_root)
    if hasattr(network, "dims"):  # (a test's stand-in model may have none)
        check_decoding_window(network.dims, name_or_path)
    return TorchEngine(network)


def check_decoding_window(dims: Any, source: Any) -> None:
    """Decoding feeds 30 s windows (3000 mel frames, n_audio_ctx 1500): a model trained on shorter windows
    (a micro run's `--dims.n_audio_ctx 150`) is refused in one line naming it, before any audio is read."""
    from olmoasr.errors import UsageError
    from olmoasr.model.features import N_FRAMES

    if dims.n_audio_ctx * 2 != N_FRAMES:
        raise UsageError(f"{source}: its encoder reads {dims.n_audio_ctx * 2} mel frames (n_audio_ctx "
                         f"{dims.n_audio_ctx}); transcription decodes 30 s windows of {N_FRAMES} (n_audio_ctx "
                         f"{N_FRAMES // 2})")  # fmt: skip


def as_engine(model: Whisper | Engine) -> Engine:
    """An engine as it is; a torch `Whisper` network wrapped in the torch engine."""
    if isinstance(model, Engine):
        return model
    from olmoasr.engines.torch_engine import TorchEngine
    from olmoasr.model.network import Whisper

    if isinstance(model, Whisper):
        return TorchEngine(model)
    raise TypeError(f"expected an olmoasr Whisper model or an engine, got {type(model).__name__}")


def __getattr__(name: str) -> Any:
    if name == "TorchEngine":
        from olmoasr.engines.torch_engine import TorchEngine

        return TorchEngine
    if name == "CTranslate2Engine":
        from olmoasr.engines.ctranslate2_engine import CTranslate2Engine

        return CTranslate2Engine
    raise AttributeError(f"module 'olmoasr.engines' has no attribute {name!r}")
