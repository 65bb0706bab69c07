"""`olmoasr filter`: keep the records that pass a filter config (spec §5), with a funnel table."""

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

ORDER = 40


def filter_command(
    input_path: str = typer.Argument(..., help="Tagged JSONL shards: a directory or a file."),
    output: str = typer.Option(..., "-o", "--output", help="Output directory for the kept records."),
    config: str = typer.Option(
        "text_heurs_seg_edit_dist_edit_dist",
        "-c",
        "--config",
        help="Filter YAML: a path or a shipped name (e.g. lang_align, seg_edit_dist_0.7_edit_dist_0.5).",
    ),
    rejects: str = typer.Option(None, "--rejects", help="Also write dropped records here, with `_drop_reason`."),
    missing: str = typer.Option(
        "drop", "--missing", help="A record without a tested field: `drop` (counted as missing:<field>) or `pass`."
    ),
    allow_partial: bool = ALLOW_PARTIAL,
    workers: int = WORKERS,
    quiet: bool = QUIET,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
) -> None:
    """Filter tagged records; prints records and hours left after each step (% of the previous step).

    \b
    Example:
      olmoasr filter tagged_segments/ -c text_heurs_seg_edit_dist_edit_dist -o filtered/ --rejects rejected/
    """
    from olmoasr.cli._tag_filter_tables import print_funnel
    from olmoasr.pipeline.filtering import filter_records

    result = filter_records(
        input_path,
        output,
        config,
        missing=missing,
        rejects_dir=rejects,
        workers=workers,
        show_progress=not quiet,
        executor=executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
        allow_partial=allow_partial,
    )
    print_funnel(result.funnel, output)
    if not result.ok:
        raise OlmoasrError(f"{len(result.report.failures)} shard(s) failed; fix them and re-run to finish")


def register(app: typer.Typer) -> None:
    app.command("filter")(filter_command)
