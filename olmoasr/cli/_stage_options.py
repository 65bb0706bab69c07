"""The options every shard-parallel data-stage command shares: `--workers`, `--quiet`, `--executor local|ray`,
`--ray-address`, `--cpus-per-task`, `--gpus-per-task`, and `--allow-partial` for the stages that read another
stage's output.

Each command declares these parameters with the defaults below and calls `executor_from_options(...)`;
the library functions take the resulting executor (None = the local process pool).
"""

from __future__ import annotations

import typer

from olmoasr.pipeline.executor import BaseExecutor, make_executor

WORKERS = typer.Option(None, "-w", "--workers", help="Worker processes (default: all cores).")
QUIET = typer.Option(False, "-q", "--quiet", help="No progress bar.")
EXECUTOR = typer.Option(
    "local",
    "--executor",
    help="local (process pool on this machine) or ray (a Ray cluster: pip install 'olmoasr[ray]').",
)
RAY_ADDRESS = typer.Option(
    None, "--ray-address", help="Ray cluster to join with --executor ray: `auto`, or HOST:PORT / ray://HOST:PORT."
)
CPUS_PER_TASK = typer.Option(None, "--cpus-per-task", help="With --executor ray: CPUs reserved per shard task.")
GPUS_PER_TASK = typer.Option(None, "--gpus-per-task", help="With --executor ray: GPUs reserved per shard task.")
ALLOW_PARTIAL = typer.Option(
    False,
    "--allow-partial",
    help="Read an input folder whose run did not finish (shards without completion markers): warn, use the rest.",
)


def executor_from_options(
    executor: str,
    ray_address: str | None,
    cpus_per_task: float | None,
    gpus_per_task: float | None,
    workers: int | None,
    quiet: bool,
) -> BaseExecutor | None:
    """None for the default local pool (library functions build it from `workers`), else a Ray executor."""
    if executor == "local":
        if ray_address or cpus_per_task is not None or gpus_per_task is not None:
            from olmoasr.errors import UsageError

            raise UsageError("--ray-address / --cpus-per-task / --gpus-per-task need --executor ray")
        return None
    return make_executor(
        executor,
        workers=workers,
        show_progress=not quiet,
        ray_address=ray_address,
        cpus_per_task=cpus_per_task,
        gpus_per_task=gpus_per_task,
    )
