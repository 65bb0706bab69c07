"""Run any data stage on a Ray cluster, with the same tasks and completion markers as the local pool.

A unit of work is one shard task. Because both executors honour the same markers, a job started locally
can be finished on Ray (and back), and a re-run after a crash or preemption does only what is missing.
Failures: a worker that dies (OOM, preemption, SIGKILL) is retried by Ray (`max_retries`); an exception
inside a task is retried with exponential backoff, except olmoasr's own input errors, which are final.
A shard that keeps failing is recorded with its error; the job finishes the rest and reports it.

Resource hints: a stage may define `resources = {"num_cpus": .., "num_gpus": .., "memory": bytes}`;
explicit executor settings (`--cpus-per-task`, `--gpus-per-task`) override them.
"""

from __future__ import annotations

import time
from typing import Any

from olmoasr.errors import OlmoasrError, UsageError
from olmoasr.pipeline.executor import BaseExecutor, ShardTask, Stage, Stats, _describe, execute_task


def _require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("the ray executor needs Ray: pip install 'olmoasr[ray]'") from None
    return ray


REPORT_EVERY_S = 0.5


class _ItemCounter:
    """A Ray actor that tasks report processed items to; the driver takes the running count for its bar."""

    def __init__(self) -> None:
        self.pending = 0

    def add(self, n: int) -> None:
        self.pending += n

    def take(self) -> int:
        taken, self.pending = self.pending, 0
        return taken


class _ItemReporter:
    """Inside a task: items sent to the counter at most every REPORT_EVERY_S (one actor call each)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.pending = 0
        self.sent_at = time.monotonic()

    def __call__(self, n: int) -> None:
        self.pending += n
        if time.monotonic() - self.sent_at >= REPORT_EVERY_S:
            self.counter.add.remote(self.pending)
            self.pending, self.sent_at = 0, time.monotonic()

    def flush(self, ray: Any) -> None:
        if self.pending:
            ray.get(self.counter.add.remote(self.pending))  # counted before the task's result arrives
            self.pending = 0


def _run_with_backoff(stage: Stage, task: ShardTask, attempts: int, backoff_s: float, counter: Any = None) -> Stats:
    """Executed inside a Ray worker. Transient errors are retried; input errors are final."""
    reporter = _ItemReporter(counter) if counter is not None else None
    for attempt in range(attempts):
        try:
            stats = execute_task(stage, task, progress=reporter or (lambda n: None))
            if reporter is not None:
                reporter.flush(_require_ray())
            return stats
        except OlmoasrError:
            raise
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(backoff_s * (2**attempt))
    raise AssertionError("unreachable")


class RayExecutor(BaseExecutor):
    def __init__(
        self,
        address: str | None = None,
        cpus_per_task: float | None = None,
        gpus_per_task: float | None = None,
        max_retries: int = 3,
        retry_backoff_s: float = 1.0,
        show_progress: bool = True,
        init_kwargs: dict[str, Any] | None = None,
    ):
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.show_progress = show_progress
        self.init_kwargs = init_kwargs or {}

    def _connect(self) -> Any:
        ray = _require_ray()
        if not ray.is_initialized():
            kwargs = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": True}
            kwargs.update(self.init_kwargs)
            try:
                ray.init(address=self.address, **kwargs)
            except ConnectionError as err:
                raise UsageError(f"cannot connect to the Ray cluster at {self.address!r}: {err}") from None
        return ray

    def _options(self, stage: Stage) -> dict[str, Any]:
        hints = dict(getattr(stage, "resources", {}) or {})
        options: dict[str, Any] = {
            "num_cpus": hints.get("num_cpus", 1),
            "num_gpus": hints.get("num_gpus", 0),
            "max_retries": self.max_retries,  # worker deaths (OOM, preemption, SIGKILL)
        }
        if hints.get("memory"):
            options["memory"] = hints["memory"]
        if self.cpus_per_task is not None:
            options["num_cpus"] = self.cpus_per_task
        if self.gpus_per_task is not None:
            options["num_gpus"] = self.gpus_per_task
        return options

    def _execute(self, stage, pending, bar, task_done, record_failure) -> None:
        if not pending:
            return
        ray = self._connect()
        remote = ray.remote(_run_with_backoff).options(**self._options(stage))
        stage_ref = ray.put(stage)
        counter = ray.remote(_ItemCounter).options(num_cpus=0).remote() if bar.enabled else None
        attempts = self.max_retries + 1
        refs = {remote.remote(stage_ref, task, attempts, self.retry_backoff_s, counter): task for task in pending}
        waiting = list(refs)
        try:
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1, timeout=1.0)
                if counter is not None:
                    bar.advance_items(ray.get(counter.take.remote()))
                for ref in done:
                    task = refs[ref]
                    try:
                        stats = ray.get(ref)
                    except Exception as err:  # RayTaskError wraps the task's exception
                        cause = getattr(err, "cause", None) or err
                        record_failure(task, _describe(cause) if cause is not err else _short_ray_error(err))
                    else:
                        task_done(task, stats)
                    bar.task_finished(task)
        except KeyboardInterrupt:
            for ref in waiting:
                ray.cancel(ref, force=True)
            raise


def _short_ray_error(err: BaseException) -> str:
    first = str(err).strip().splitlines()
    return f"{type(err).__name__}: {first[0] if first else ''}"
