"""`olmoasr tag doc|seg`: tag document or segment records with a tagging config (spec §3).

`tag_app` is the `tag` sub-app; other modules add commands to it (`tag lang` lives in `tag_lang.py`).
"""

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

ORDER = 30

tag_app = typer.Typer(
    name="tag",
    help="Add tags to records: `doc` (document level), `seg` (segment level), and more.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, as olmoasr.cli.main explains
    context_settings={"help_option_names": ["-h", "--help"]},
)

CONFIG_HELP = "Tagging YAML: a path, or a shipped name (main_tagging, main_tagging_seg)."
FILTER = typer.Option(
    None,
    "--filter",
    help="Also filter in the same pass with this filter YAML (path or shipped name): one read, one write.",
)
REJECTS = typer.Option(None, "--rejects", help="With --filter: write dropped records here, with `_drop_reason`.")
MISSING = typer.Option("drop", "--missing", help="With --filter: a record without a tested field, `drop` or `pass`.")


def _run(
    level: str,
    input_path: str,
    output: str,
    config: str,
    workers: int | None,
    quiet: bool,
    executor=None,
    filter_config: str | None = None,
    rejects: str | None = None,
    missing: str = "drop",
    allow_partial: bool = False,
) -> None:
    from olmoasr.cli._tag_filter_tables import print_funnel, print_tag_summary
    from olmoasr.pipeline.tagging import run_tagging, summary_path

    result = run_tagging(
        input_path,
        output,
        config,
        level,
        workers=workers,
        show_progress=not quiet,
        executor=executor,
        filter_config=filter_config,
        missing=missing,
        rejects_dir=rejects,
        allow_partial=allow_partial,
    )
    print_tag_summary(result.summary, result.report, summary_path(output, result.config))
    if result.funnel is not None:
        print_funnel(result.funnel, output)
    if not result.ok:
        raise OlmoasrError(f"{len(result.report.failures)} shard(s) failed; fix them and re-run to finish")


@tag_app.command("doc")
def tag_doc(
    input_path: str = typer.Argument(..., help="Document JSONL shards (`prep jsonl` output): a directory or a file."),
    output: str = typer.Option(..., "-o", "--output", help="Output directory (same shard names, tags added)."),
    config: str = typer.Option("main_tagging", "-c", "--config", help=CONFIG_HELP),
    workers: int = WORKERS,
    quiet: bool = QUIET,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
    filter_config: str = FILTER,
    rejects: str = REJECTS,
    missing: str = MISSING,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Tag document records: casing, repeating_lines, text_lang, edit_dist, ...

    \b
    Example:
      olmoasr tag doc docs/ -c main_tagging -o tagged_docs/
    """
    _run(
        "document",
        input_path,
        output,
        config,
        workers,
        quiet,
        executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
        filter_config,
        rejects,
        missing,
        allow_partial,
    )


@tag_app.command("seg")
def tag_seg(
    input_path: str = typer.Argument(..., help="Segment JSONL shards (`prep segment` output): a directory or a file."),
    output: str = typer.Option(..., "-o", "--output", help="Output directory (same shard names, tags added)."),
    config: str = typer.Option("main_tagging_seg", "-c", "--config", help=CONFIG_HELP),
    workers: int = WORKERS,
    quiet: bool = QUIET,
    executor: str = EXECUTOR,
    ray_address: str = RAY_ADDRESS,
    cpus_per_task: float = CPUS_PER_TASK,
    gpus_per_task: float = GPUS_PER_TASK,
    filter_config: str = FILTER,
    rejects: str = REJECTS,
    missing: str = MISSING,
    allow_partial: bool = ALLOW_PARTIAL,
) -> None:
    """Tag segment records (from `seg_content` and the aligned machine segment) as `seg_<tag>`.

    `edit_dist` is written as `seg_edit_dist`, so the document tags carried in each segment stay intact.

    \b
    Examples:
      olmoasr tag seg segments/ -c main_tagging_seg -o tagged_segments/
      olmoasr tag seg segments/ -o filtered/ --filter text_heurs_seg_edit_dist_edit_dist   # tag + filter, one pass
    """
    _run(
        "segment",
        input_path,
        output,
        config,
        workers,
        quiet,
        executor_from_options(executor, ray_address, cpus_per_task, gpus_per_task, workers, quiet),
        filter_config,
        rejects,
        missing,
        allow_partial,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tag_app, name="tag")
