"""`olmoasr train`: one process, N spawned workers, or one rank under torchrun."""

from __future__ import annotations

import os

import typer

ORDER = 60


def train_command(
    ctx: typer.Context,
    config: str = typer.Option(
        None, "-c", "--config", help="Shipped config (tiny, base, small, medium, large, micro) or a YAML path."
    ),  # fmt: skip
    data: str = typer.Option(None, "--data", help="Training mix: segment-record JSONL file or directory."),
    out: str = typer.Option(None, "-o", "--out", help="Run directory (checkpoints, metrics.jsonl, export.pt)."),
    nproc_per_node: int = typer.Option(None, "--nproc-per-node", help="Spawn this many workers on this node."),
    strategy: str = typer.Option(None, "--strategy", help="ddp | fsdp (default: ddp with > 1 process)."),
    resume: str = typer.Option(None, "--resume", help="auto (newest complete checkpoint) | never | PATH."),
    init_from: str = typer.Option(None, "--init-from", help="Fine-tune from a checkpoint olmoasr.load_model loads."),
    wandb_project: str = typer.Option(None, "--wandb-project", help="Also log to this wandb project."),
    allow_partial: bool = typer.Option(
        None,
        "--allow-partial",
        help="Train on a --data folder whose run did not finish: warn, use its finished shards.",
    ),
) -> None:
    """Train (or fine-tune) a Whisper-style model. Any config key is also an option: `--KEY VALUE`.

    \b
    Examples:
      olmoasr train --config micro --data mix/ --out runs/micro --train_steps 50
      olmoasr train --config small --data mix/ --out runs/small --nproc-per-node 8 --strategy ddp
      olmoasr train --config tiny --data mix/ --out runs/ft --init-from tiny.en-offline --lr 1e-5 --train_steps 2000
      torchrun --nnodes 4 --nproc-per-node 8 --rdzv-endpoint HOST:29500 -m olmoasr train -c large --data mix/ \\
          --out runs/large --strategy fsdp
    """
    from olmoasr.cli._offline import offline_model_option
    from olmoasr.train import load_config
    from olmoasr.train.config import parse_overrides
    from olmoasr.train.launch import run_training

    overrides: dict[str, object] = parse_overrides(list(ctx.args))
    named = {"data": data, "out": out, "nproc_per_node": nproc_per_node, "strategy": strategy, "resume": resume,
             "init_from": init_from, "wandb_project": wandb_project, "allow_partial": allow_partial}  # fmt: skip
    overrides.update({k: v for k, v in named.items() if v is not None})
    with offline_model_option("--init-from"):
        result = run_training(load_config(config, overrides))
    if result is not None and result.export and os.environ.get("RANK", "0") == "0":
        typer.echo(f"trained to step {result.steps}; inference checkpoint: {result.export}")


def register(app: typer.Typer) -> None:
    app.command(
        "train",
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "help_option_names": ["-h", "--help"],
        },  # fmt: skip
    )(train_command)
