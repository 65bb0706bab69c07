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


def _run_with_backoff(stage: Stage, task: ShardTask, attempts: int, backoff_s: float) -> Stats:
    """Executed inside a Ray worker. Transient errors are retried; input errors are final."""
    for attempt in range(attempts):
        try:
            return execute_task(stage, task, progress=lambda n: None)
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
        refs = {remote.remote(stage_ref, task, self.max_retries + 1, self.retry_backoff_s): task for task in pending}
        waiting = list(refs)
        try:
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1, timeout=1.0)
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
