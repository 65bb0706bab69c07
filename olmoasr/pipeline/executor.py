"""One executor for every data stage (prep, tag, filter, sample, ...).

A stage is split into independent tasks, one per output shard (optionally split into parts so a single
huge shard still uses every core). The executor runs the tasks that have no completion marker, in a
process pool with a rich progress bar, and writes each task's marker LAST, after the task's outputs were
renamed into place. Re-running a stage therefore skips finished shards in seconds, and a run killed at
any point (SIGKILL included) and re-run ends with exactly the outputs of an uninterrupted run.

Markers live in `<output_dir>/.olmoasr/<stage>/<shard>[.part-K].done.json` and hold the task's stats,
so the final summary of a resumed run equals that of a run done in one go. The run's plan (the shards it
makes) is written first, so a later stage can tell a finished folder from the remains of a stopped run
(`olmoasr.io.completion`).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import queue
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from olmoasr.errors import OlmoasrError, UsageError
from olmoasr.io.atomic import remove_stale_temporaries, remove_temporaries_of
from olmoasr.io.completion import marker_path, read_marker, write_marker, write_plan
from olmoasr.io.lock import output_lock
from olmoasr.io.storage import as_path, ensure_dir

Stats = dict[str, float]
ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class ShardTask:
    """One unit of work. `shard` names the output shard; `part`/`num_parts` split one shard."""

    shard: str
    inputs: tuple[str, ...] = ()
    part: int = 0
    num_parts: int = 1
    weight: float = 1.0  # relative size, for progress and scheduling (largest first)

    @property
    def key(self) -> str:
        return self.shard if self.num_parts == 1 else f"{self.shard}.part-{self.part:04d}"


class Stage(Protocol):
    """What a data stage provides to the executor. Must be picklable (it is sent to worker processes)."""

    name: str
    output_dir: Path

    def plan(self) -> list[ShardTask]: ...

    def run_task(self, task: ShardTask, progress: ProgressFn) -> Stats:
        """Process one task; write its outputs atomically; return additive stats."""
        ...


class SplitStage(Stage, Protocol):
    """A stage that may plan a shard as several parts (`ShardTask.num_parts > 1`) joins them again."""

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        """Combine the parts of a split shard into the shard's final outputs; idempotent."""
        ...


def resolve_workers(workers: int | None) -> int:
    """The one rule for a worker count: the number asked for, else one per core."""
    return max(1, workers or os.cpu_count() or 1)


@dataclass
class StageReport:
    stage: str
    tasks_total: int = 0
    tasks_skipped: int = 0
    tasks_run: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    stats: Stats = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def merge_stats(into: Stats, other: Stats) -> Stats:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value
    return into


# ---------------------------------------------------------------------------------------- workers

_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    # One BLAS/torch thread per worker process: the pool itself uses the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Importing torch costs seconds per worker and most data stages never use it; a torch imported later
    # in this worker reads OMP_NUM_THREADS above. Only an already-loaded torch needs telling.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _queue_progress(n: int) -> None:
    if _progress_queue is not None and n:
        _progress_queue.put(n)


def execute_task(stage: Stage, task: ShardTask, progress: ProgressFn | None = None) -> Stats:
    """Run one task and write its marker (last). Used by every executor backend. A failed task's
    temporary files are removed at once (tasks of one process run one after another)."""
    try:
        stats = stage.run_task(task, progress or _queue_progress)
    except BaseException:
        remove_temporaries_of(stage.output_dir, os.getpid())
        raise
    write_marker(marker_path(stage.output_dir, stage.name, task.key), stats)
    return stats


def _run_in_worker(stage: Stage, task: ShardTask) -> Stats:
    return execute_task(stage, task)


def _finish_shard_if_complete(stage: Stage, task: ShardTask) -> Stats | None:
    """After a part finishes: if every part of its shard is done, merge them and mark the shard."""
    parts = [
        marker_path(stage.output_dir, stage.name, ShardTask(task.shard, (), k, task.num_parts).key)
        for k in range(task.num_parts)
    ]
    if not all(p.exists() for p in parts):
        return None
    merge_parts = getattr(stage, "merge_parts", None)
    if merge_parts is None:
        raise TypeError(f"stage {stage.name} planned {task.shard} in parts but has no merge_parts")
    stats = merge_parts(task.shard, task.num_parts)
    write_marker(marker_path(stage.output_dir, stage.name, task.shard), stats)
    return stats


# ---------------------------------------------------------------------------------------- executor


class BaseExecutor:
    """Shared bookkeeping: skip finished tasks, merge stats, finish split shards, record failures.

    Backends implement `_execute(stage, pending, bar, task_done, record_failure)`. `workers` is how many
    tasks run at once here (stages split big shards only when it exceeds the number of shards).
    """

    show_progress: bool = True
    workers: int = 1

    def run(self, stage: Stage) -> StageReport:
        ensure_dir(as_path(stage.output_dir))
        with output_lock(stage.output_dir, stage.name):
            return self._run_locked(stage)

    def _run_locked(self, stage: Stage) -> StageReport:
        started = time.perf_counter()
        report = StageReport(stage=stage.name)
        remove_stale_temporaries(stage.output_dir)  # safe: the lock says no other run is writing here
        tasks = stage.plan()
        write_plan(stage.output_dir, stage.name, (task.shard for task in tasks))  # before any marker
        report.tasks_total = len(tasks)
        finished_shards: set[str] = set()
        pending = self._pending_tasks(stage, tasks, report, finished_shards)

        def record_failure(task: ShardTask, message: str) -> None:
            report.failures.append((task.key, message))

        def task_done(task: ShardTask, stats: Stats) -> None:
            report.tasks_run += 1
            if task.num_parts == 1:
                merge_stats(report.stats, stats)
                return
            # Several parts of one shard can report done after all their markers exist (a pool returns
            # finished futures in batches): the shard is merged and counted once.
            if task.shard in finished_shards:
                return
            merged = _finish_shard_if_complete(stage, task)
            if merged is not None:
                merge_stats(report.stats, merged)
                finished_shards.add(task.shard)

        with _Progress(stage.name, pending, self.show_progress) as bar:
            self._execute(stage, pending, bar, task_done, record_failure)
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _pending_tasks(
        stage: Stage, tasks: list[ShardTask], report: StageReport, finished: set[str]
    ) -> list[ShardTask]:
        pending: list[ShardTask] = []
        for task in tasks:
            done = read_marker(marker_path(stage.output_dir, stage.name, task.shard))
            if done is not None:
                if task.shard not in finished:
                    merge_stats(report.stats, done)
                    finished.add(task.shard)
                report.tasks_skipped += 1
                continue
            part_done = task.num_parts > 1 and read_marker(marker_path(stage.output_dir, stage.name, task.key))
            if part_done:
                report.tasks_skipped += 1
                # All parts may have finished before a crash that hit the merge: merge now.
                merged = _finish_shard_if_complete(stage, task)
                if merged is not None and task.shard not in finished:
                    merge_stats(report.stats, merged)
                    finished.add(task.shard)
                continue
            pending.append(task)
        pending.sort(key=lambda t: -t.weight)
        return pending

    def _execute(self, stage, pending, bar, task_done, record_failure) -> None:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must implement _execute")


class LocalExecutor(BaseExecutor):
    """Process pool on this machine (`workers=1` runs inline, in this process)."""

    def __init__(self, workers: int | None = None, show_progress: bool = True):
        self.workers = resolve_workers(workers)
        self.show_progress = show_progress

    def _execute(self, stage, pending, bar, task_done, record_failure) -> None:
        if self.workers == 1 or len(pending) <= 1:
            for task in pending:
                try:
                    stats = execute_task(stage, task, bar.advance_items)
                except Exception as err:  # a task failure never stops the other shards
                    record_failure(task, _describe(err))
                else:
                    task_done(task, stats)
                bar.task_finished(task)
            return
        ctx = mp.get_context("spawn")
        progress_queue = ctx.Queue()
        with cf.ProcessPoolExecutor(
            max_workers=min(self.workers, len(pending)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(progress_queue,),
        ) as pool:
            futures = {pool.submit(_run_in_worker, stage, task): task for task in pending}
            not_done = set(futures)
            try:
                while not_done:
                    done, not_done = cf.wait(not_done, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                    _drain(progress_queue, bar)
                    for future in done:
                        task = futures[future]
                        try:
                            stats = future.result()
                        except Exception as err:
                            record_failure(task, _describe(err))
                        else:
                            task_done(task, stats)
                        bar.task_finished(task)
                _drain(progress_queue, bar)
            except KeyboardInterrupt:
                for future in not_done:
                    future.cancel()
                raise


def _describe(err: BaseException) -> str:
    if isinstance(err, OlmoasrError):
        return str(err)
    if isinstance(err, BrokenProcessPool):
        return "worker process died (out of memory or killed)"
    tb = traceback.extract_tb(err.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(err).__name__}: {err}{where}"


def _drain(progress_queue: Any, bar: _Progress) -> None:
    while True:
        try:
            bar.advance_items(progress_queue.get_nowait())
        except queue.Empty:
            return
        except (OSError, ValueError):
            return


class _Progress:
    """Rich progress over tasks (and items inside them, when tasks report items)."""

    def __init__(self, stage: str, tasks: Iterable[ShardTask], enabled: bool):
        self.enabled = enabled and bool(tasks)
        self.total = len(list(tasks))
        self._progress = None
        self._task_id = None
        self._items_id = None
        self.stage = stage

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            from olmoasr.console import stderr_console

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
                transient=False,
            )
            self._progress.start()
            self._task_id = self._progress.add_task(f"{self.stage} shards", total=self.total)
            self._items_id = self._progress.add_task("items", total=None)
        return self

    def advance_items(self, n: int) -> None:
        if self._progress is not None and n:
            self._progress.advance(self._items_id, n)

    def task_finished(self, task: ShardTask) -> None:
        if self._progress is not None:
            self._progress.advance(self._task_id, 1)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def make_executor(
    kind: str = "local",
    workers: int | None = None,
    show_progress: bool = True,
    ray_address: str | None = None,
    cpus_per_task: float | None = None,
    gpus_per_task: float | None = None,
    max_retries: int = 3,
) -> BaseExecutor:
    """`local` (process pool, the default) or `ray` (a Ray cluster; `pip install olmoasr[ray]`)."""
    if kind == "local":
        return LocalExecutor(workers=workers, show_progress=show_progress)
    if kind == "ray":
        from olmoasr.pipeline.ray_executor import RayExecutor

        return RayExecutor(
            address=ray_address,
            cpus_per_task=cpus_per_task,
            gpus_per_task=gpus_per_task,
            max_retries=max_retries,
            show_progress=show_progress,
        )
    raise UsageError(f"unknown executor {kind!r} (choose local or ray)")


def run_stage(
    stage: Stage,
    workers: int | None = None,
    show_progress: bool = True,
    executor: BaseExecutor | None = None,
) -> StageReport:
    """Run `stage` on `executor` (default: the local process pool)."""
    executor = executor or LocalExecutor(workers=workers, show_progress=show_progress)
    return executor.run(stage)
