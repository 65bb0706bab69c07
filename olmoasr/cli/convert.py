"""`olmoasr convert`: rewrite a checkpoint in another format (OpenAI .pt, safetensors, transformers, CTranslate2)."""

from __future__ import annotations

import typer

ORDER = 75

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16", "bfloat16": "bfloat16",
           "bf16": "bfloat16"}  # fmt: skip


def convert_command(
    source: str = typer.Argument(..., help="Checkpoint to read: a path (any format), a model name or org/repo."),
    destination: str = typer.Argument(..., help="Where to write: a file (openai, safetensors) or a folder."),
    fmt: str = typer.Option("openai", "-f", "--format", help="openai | safetensors | hf | ctranslate2"),
    dtype: str = typer.Option(
        "float32", "--dtype", help="float32 | float16 | bfloat16 (ctranslate2 stores float16 unless float32)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DESTINATION if it exists."),
) -> None:
    """Convert a checkpoint to another format: OpenAI .pt, safetensors, transformers or CTranslate2.

    For example, an OLMoASR training checkpoint into a model that faster-whisper or transformers can load.

    \b
    Examples:
      olmoasr convert runs/small/export.pt small-hf --format hf
      olmoasr convert runs/small/latesttrain_ddp.pt small.pt
      olmoasr convert tiny small-ct2 --format ctranslate2 --dtype float16
    """
    import torch

    from olmoasr.errors import UsageError
    from olmoasr.model.checkpoints import SAVE_FORMATS, check_destination, load_model, save_model

    if fmt not in SAVE_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(SAVE_FORMATS)}, got {fmt!r}")
    if dtype not in _DTYPES:
        raise UsageError(f"--dtype must be float32, float16 or bfloat16, got {dtype!r}")
    check_destination(destination, fmt, overwrite=overwrite)  # before the (possibly long) load
    model = load_model(source, device="cpu", dtype=getattr(torch, _DTYPES[dtype]))
    path = save_model(model, destination, fmt)
    typer.echo(f"wrote {fmt} checkpoint {path} ({model.dims.n_text_layer}-layer decoder, {dtype})")


def register(app: typer.Typer) -> None:
    app.command("convert", context_settings={"help_option_names": ["-h", "--help"]})(convert_command)
