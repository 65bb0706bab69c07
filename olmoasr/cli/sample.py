"""`olmoasr sample`: a reproducible training mix by hours or count, or what a tag holds (`--stats`)."""

from __future__ import annotations

import typer

from olmoasr.cli._stage_options import ALLOW_PARTIAL
from olmoasr.errors import UsageError

ORDER = 50


def sample_command(
    input_path: str = typer.Argument(..., help="Filtered JSONL shards: a directory or a file."),
    output: str = typer.Option(None, "-o", "--output", help="Output directory for mix_00000.jsonl.gz, ..."),
    hours: float = typer.Option(None, "--hours", help="Total audio hours to draw (across all shards)."),
    count: int = typer.Option(None, "--count", help="Number of records to draw instead of hours."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (same seed + same records = same mix)."),
    shard_size: int = typer.Option(10_000, "--shard-size", help="Records per output shard."),
    stats: str = typer.Option(
        None, "--stats", help="Print what this tag holds instead: percentiles of numbers, counts of other values."
    ),
    full: bool = typer.Option(False, "--full", help="With --stats: all 101 percentiles and every value."),
    cap: int = typer.Option(
        1_000_000, "--cap", help="With --stats: exact up to this many numbers (reservoir beyond) / distinct values."
    ),
    workers: int = typer.Option(None, "-w", "--workers", help="Worker processes for the counting passes."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Draw a training mix across all input shards, or print what a tag holds.

    \b
    Examples:
      olmoasr sample filtered/ -o train_mix/ --hours 1000 --seed 0
      olmoasr sample filtered/ --stats edit_dist
      olmoasr sample filtered/ --stats audio_lang
    """
    from olmoasr.cli._tag_filter_tables import print_sample, print_tag_stats
    from olmoasr.pipeline.sampling import sample_records, tag_stats

    if stats is not None:
        if output is not None or hours is not None or count is not None:
            raise UsageError("--stats prints statistics only; leave out -o/--hours/--count")
        print_tag_stats(tag_stats(input_path, stats, cap=cap, seed=seed), full=full)
        return
    if full:
        raise UsageError("--full goes with --stats")
    if output is None:
        raise UsageError("give -o/--output for the mix (or --stats TAG for what a tag holds)")
    result = sample_records(
        input_path,
        output,
        hours=hours,
        count=count,
        seed=seed,
        shard_size=shard_size,
        workers=workers,
        show_progress=not quiet,
        allow_partial=allow_partial,
    )
    print_sample(result)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample_command)
