"""`olmoasr tag lang`: spoken language of every document by majority vote over its segments' audio."""

from __future__ import annotations

import typer

from olmoasr.cli._stage_options import (
    ALLOW_PARTIAL,
    CPUS_PER_TASK,
    EXECUTOR,
    GPUS_PER_TASK,
    RAY_ADDRESS,
    executor_from_options,
)

ORDER = 31  # after `olmoasr.cli.tag`, which creates the `tag` group

EXAMPLE = (
    "Example:\n\n"
    "    olmoasr tag lang data/segments -o data/segments_lang --docs data/docs --docs-out data/docs_lang\n\n"
    "    olmoasr tag lang data/segments -o out --model ./lang-id-voxlingua107-ecapa --device cuda --batch-size 64\n\n"
    "    olmoasr tag lang data/segments -o out --backend whisper-en      # offline: English (en) or not (un)"
)
WHISPER_EN_NOTE = (
    "\n\nBackends: voxlingua107 and whisper (a multilingual checkpoint) name the spoken language. whisper-en "
    "runs offline with an English-only Whisper model (default: tiny.en from the `offline` extra of "
    "olmoasr): it decodes each segment and labels it `en` when the model is confident it heard "
    "English (average token log-probability above --threshold, output not looping), else `un`; it tells "
    "English from non-English speech but never names another language."
)


def tag_lang(
    segments: str = typer.Argument(..., help="Segment JSONL shards (`prep segment` output): a directory or a file."),
    output: str = typer.Option(..., "-o", "--output", help="Output directory: the same shards with `audio_lang`."),
    backend: str = typer.Option(
        "voxlingua107",
        "--backend",
        help="voxlingua107 (the original's), whisper (multilingual checkpoint), or whisper-en (English-only "
        "checkpoint, offline: `en` or `un` = not confidently English; names no other language).",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="voxlingua107: Hub repo id or local SpeechBrain directory (default "
        "speechbrain/lang-id-voxlingua107-ecapa); whisper: a multilingual checkpoint path; whisper-en: an "
        "English-only checkpoint (default tiny.en-offline when installed).",
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="whisper-en only: average token log-probability above which a segment counts as English "
        "(default -0.7, calibrated on tiny.en).",
    ),
    docs: str | None = typer.Option(None, "--docs", help="Document JSONL shards to tag with the same `audio_lang`."),
    docs_out: str | None = typer.Option(None, "--docs-out", help="Output directory for the tagged document shards."),
    batch_size: int = typer.Option(32, "--batch-size", help="Segments per model batch."),
    max_batch_seconds: float | None = typer.Option(
        None,
        "--max-batch-seconds",
        help="Cap on padded audio per model batch, bounding memory (default 960 on GPU, 120 on CPU).",
    ),
    device: str = typer.Option("auto", "--device", help="auto (GPU when present), cpu, cuda, cuda:N."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: 1 on GPU, one per core on CPU)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary table."),
    allow_partial: bool = ALLOW_PARTIAL,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    from olmoasr.cli._offline import offline_model_option
    from olmoasr.pipeline.lang_id import LangIdOptions, tag_audio_language

    options = LangIdOptions(
        backend=backend,
        model=model,
        batch_size=batch_size,
        device=device,
        workers=workers,
        max_batch_seconds=max_batch_seconds,
        threshold=threshold,
    )
    with offline_model_option("--model"):
        report = tag_audio_language(
            segments,
            output,
            options,
            docs=docs,
            docs_output_dir=docs_out,
            show_progress=not quiet,
            executor=executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
            allow_partial=allow_partial,
        )
    if not quiet:
        _print_summary(report.summary, output)
    if not report.ok:  # printed with --quiet too: quiet hides progress, never a failure
        from olmoasr.errors import OlmoasrError
        from olmoasr.log import report_failure

        for stage, key, message in report.failures:
            report_failure(f"{stage} {key}: {message}")
        raise OlmoasrError(f"{len(report.failures)} shard task(s) failed; fix them and re-run to finish")


def _print_summary(summary: dict, output: str) -> None:
    from rich.table import Table

    from olmoasr.console import stdout_console

    console = stdout_console()
    table = Table(title=f"audio language of {summary['documents']} documents", show_lines=False)
    table.add_column("audio_lang")
    table.add_column("documents", justify="right")
    table.add_column("%", justify="right")
    total = max(1, summary["documents"])
    for language, count in list(summary["documents_by_audio_lang"].items())[:20]:
        if summary.get("backend") == "whisper-en" and language == "un":
            language = "un (not confidently English)"
        table.add_row(language, str(count), f"{100 * count / total:.1f}")
    rest = list(summary["documents_by_audio_lang"].items())[20:]
    if rest:
        count = sum(n for _, n in rest)
        table.add_row(f"({len(rest)} more)", str(count), f"{100 * count / total:.1f}")
    table.add_row(
        "[bold]no result (null)",
        str(summary["documents_without_audio_lang"]),
        f"{100 * summary['documents_without_audio_lang'] / total:.1f}",
    )
    console.print(table)
    errors = sum(summary["segments_audio_error"].values())
    speed = summary["throughput"]
    if speed["segments_per_second"] is not None:
        rate = f"{speed['segments_per_second']:.1f} segments/s ({speed['audio_seconds_per_second']:.0f}x real time)"
    else:  # some shards were finished by an earlier run
        rate = f"{speed['segments_per_worker_second']:.1f} segments per worker-second (resumed run)"
    console.print(
        f"segments: {summary['segments']} read, {summary['segments_classified']} classified, "
        f"{summary['segments_no_speech']} no-speech, {errors} audio errors, "
        f"{summary['segments_without_id']} without id, {summary['malformed_lines']} malformed lines; "
        f"{rate} on {summary['device']}"
    )
    for failure in summary["failed_shards"]:
        console.print(f"[red]failed[/red] {failure['stage']} {failure['shard']}: {failure['error']}")
    from olmoasr.io.storage import as_path

    console.print(f"summary: {as_path(output) / 'audio_lang_summary.json'}")


def register(app: typer.Typer) -> None:
    try:
        from olmoasr.cli.tag import tag_app
    except ImportError:  # the `tag` group is not installed: nothing to attach to
        return
    tag_app.command(
        "lang",
        help="Spoken language of each document (majority vote over its speech segments) -> `audio_lang`."
        + WHISPER_EN_NOTE
        + "\n\n"
        + EXAMPLE,
        no_args_is_help=True,
    )(tag_lang)
