"""`olmoasr convert`: rewrite a checkpoint in another format (OpenAI .pt, safetensors, transformers, CTranslate2)."""

from __future__ import annotations

import typer

ORDER = 75

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16", "bfloat16": "bfloat16",
           "bf16": "bfloat16", "int8": "int8", "int8_float16": "int8_float16"}  # fmt: skip
_QUANTIZED = ("int8", "int8_float16")  # CTranslate2 weight types only


def convert_command(
    source: str = typer.Argument(..., help="Checkpoint to read: a path (any format), a model name or org/repo."),
    destination: str = typer.Argument(..., help="Where to write: a file (openai, safetensors) or a folder."),
    fmt: str = typer.Option("openai", "-f", "--format", help="openai | safetensors | hf | ctranslate2"),
    dtype: str = typer.Option(
        "float32", "--dtype", help="float32 | float16 | bfloat16; with --format ctranslate2 also int8 | int8_float16."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DESTINATION if it exists."),
) -> None:
    """Convert a checkpoint to another format: OpenAI .pt, safetensors, transformers or CTranslate2.

    For example, an OLMoASR training checkpoint into a model that faster-whisper or transformers can load.

    \b
    Examples:
      olmoasr convert runs/small/export.pt small-hf --format hf
      olmoasr convert runs/small/latesttrain_ddp.pt small.pt
      olmoasr convert tiny small-ct2 --format ctranslate2 --dtype int8
    """
    import torch

    from olmoasr.errors import UsageError
    from olmoasr.model.checkpoints import SAVE_FORMATS, check_destination, load_model, save_model

    if fmt not in SAVE_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(SAVE_FORMATS)}, got {fmt!r}")
    if dtype not in _DTYPES:
        raise UsageError(f"--dtype must be float32, float16, bfloat16, int8 or int8_float16, got {dtype!r}")
    weight_type = _DTYPES[dtype]
    if weight_type in _QUANTIZED and fmt != "ctranslate2":
        raise UsageError(f"--dtype {weight_type} needs --format ctranslate2 (int8 weights are a CTranslate2 type)")
    check_destination(destination, fmt, overwrite=overwrite)  # before the (possibly long) load
    torch_dtype = torch.float32 if weight_type in _QUANTIZED else getattr(torch, weight_type)
    model = load_model(source, device="cpu", dtype=torch_dtype)
    path = save_model(model, destination, fmt, quantization=weight_type if fmt == "ctranslate2" else None)
    typer.echo(f"wrote {fmt} checkpoint {path} ({model.dims.n_text_layer}-layer decoder, {dtype})")


def register(app: typer.Typer) -> None:
    app.command("convert", context_settings={"help_option_names": ["-h", "--help"]})(convert_command)
