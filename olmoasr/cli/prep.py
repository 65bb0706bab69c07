"""`olmoasr prep jsonl` and `olmoasr prep segment`: raw pairs -> document JSONL -> 30 s training segments."""

from __future__ import annotations

import typer

from olmoasr.cli._stage_options import (
    ALLOW_PARTIAL,
    CPUS_PER_TASK,
    EXECUTOR,
    GPUS_PER_TASK,
    QUIET,
    RAY_ADDRESS,
    WORKERS,
    executor_from_options,
)
from olmoasr.errors import OlmoasrError

ORDER = 10

prep_app = typer.Typer(
    help="Prepare data: raw audio/transcript pairs -> document JSONL -> 30 s training segments.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, as olmoasr.cli.main explains
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_summary(title: str, report, output: str) -> None:
    from rich.table import Table

    from olmoasr.console import stdout_console

    stats = report.stats
    table = Table(title=title)
    table.add_column("", justify="left")
    table.add_column("count", justify="right")
    rows = [
        ("pairs", stats.get("pairs")),
        ("documents", stats.get("docs")),
        ("hours in", stats.get("hours_in")),
        ("documents with machine captions", stats.get("docs_with_machine")),
        ("segments", stats.get("segments")),
        ("hours out", stats.get("hours_out")),
    ]
    for label, value in rows:
        if value is None:
            continue
        table.add_row(label, f"{value:,.2f}" if isinstance(value, float) else f"{int(value):,}")
    for prefix, label in (("segments.", "  segments: "), ("rejects.", "rejected: "), ("dropped.", "windows dropped: ")):
        for key in sorted(k for k in stats if k.startswith(prefix)):
            table.add_row(f"{label}{key[len(prefix) :]}", f"{int(stats[key]):,}")
    for key in sorted(k for k in stats if k.startswith("cues_dropped.")):
        table.add_row(f"[dim]cues dropped: {key[len('cues_dropped.') :]}[/dim]", f"{int(stats[key]):,}")
    for key in ("machine_transcripts_ignored", "malformed_lines"):
        if stats.get(key):
            table.add_row(key.replace("_", " "), f"{int(stats[key]):,}")
    if stats.get("docs_audio_shorter_than_length"):
        table.add_row("documents whose audio decodes shorter", f"{int(stats['docs_audio_shorter_than_length']):,}")
    if stats.get("audio_truncated"):
        table.add_row("audio cut short (length = what decodes)", f"{int(stats['audio_truncated']):,}")
    for key in sorted(k for k in stats if k.startswith("transcripts_redecoded.")):
        table.add_row(f"transcripts read as {key.split('.', 1)[1]} (not UTF-8)", f"{int(stats[key]):,}")
    console = stdout_console()
    console.print(table)
    console.print(
        f"shards run {report.tasks_run}, skipped (already done) {report.tasks_skipped}; "
        f"{report.seconds:.1f} s; output: {output}"
    )
    for key, message in report.failures:
        console.print(f"[red]failed[/red] {key}: {message}")
    if report.failures:
        raise OlmoasrError(f"{len(report.failures)} shard task(s) failed; fix them and re-run to finish")


@prep_app.command("jsonl")
def jsonl_command(
    raw_dir: str = typer.Argument(..., help="Folder holding shard folders of <pair_id>/ pairs (any depth)."),
    output: str = typer.Option(..., "-o", "--output", help="Output folder for <shard>.jsonl.gz document shards."),
    workers: int = WORKERS,
    quiet: bool = QUIET,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Shard folders of audio/transcript pairs -> one document JSONL per shard, plus rejects with reasons.

    Layout: shard_XXXXX/<pair_id>/audio_<pair_id>.<ext> + transcript_<pair_id>.<srt|vtt>, and optionally
    mach_transcript_<pair_id>.<vtt|srt> (machine captions -> `mach_content`).

    \b
    Example:
      olmoasr prep jsonl raw/ -o docs/
    """
    from olmoasr.pipeline.prep_jsonl import prep_jsonl

    report = prep_jsonl(
        raw_dir,
        output,
        workers=workers,
        show_progress=not quiet,
        executor=executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
    )
    _print_summary("prep jsonl", report, output)


@prep_app.command("segment")
def segment_command(
    docs_dir: str = typer.Argument(..., help="Document JSONL shards (from `prep jsonl`): a folder or a file."),
    output: str = typer.Option(..., "-o", "--output", help="Output folder for segment shards and audio containers."),
    text_only: bool = typer.Option(
        False, "--text-only", help="Segment transcripts only; records point at the source audio and its window."
    ),
    max_segments_per_doc: int = typer.Option(
        120, "--max-segments-per-doc", help="Cap per document (the original's 120, about 1 h); 0 = no cap."
    ),
    channel: int = typer.Option(
        None, "--channel", help="Take this audio channel (0-based) instead of downmixing like `ffmpeg -ac 1`."
    ),
    segments_per_container: int = typer.Option(
        1000, "--segments-per-container", help="Segments per FLAC tar container."
    ),
    allow_partial: bool = ALLOW_PARTIAL,
    workers: int = WORKERS,
    quiet: bool = QUIET,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Documents -> <= 30 s training segments: records (JSONL) + 16 kHz FLAC audio in tar containers.

    Each audio file is decoded once; segment audio lands in audio/<shard>/<shard>-NNNNNN.tar and each
    record's audio_file / audio_offset / audio_nbytes locate it (olmoasr.records.segment_store reads it).

    \b
    Example:
      olmoasr prep segment docs/ -o segments/
      olmoasr prep segment docs/ -o segments_text/ --text-only --max-segments-per-doc 0
    """
    from olmoasr.pipeline.prep_segment import prep_segment

    report = prep_segment(
        docs_dir,
        output,
        text_only=text_only,
        max_segments_per_doc=max_segments_per_doc,
        channel=channel,
        segments_per_container=segments_per_container,
        workers=workers,
        show_progress=not quiet,
        executor=executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
        allow_partial=allow_partial,
    )
    _print_summary("prep segment" + (" (text only)" if text_only else ""), report, output)


def register(app: typer.Typer) -> None:
    app.add_typer(prep_app, name="prep")
