"""The record-map stage: read a JSONL shard, pass each record through a chain of steps, write what is kept.

A step maps one record to a record (tags merged in, a field rewritten) or to None (dropped; the step
counts why). Tagging (`tagging.TaggingStep`), filtering (`filtering.FilteringStep`) and language ID's two
writers (`lang_id.stages.AudioLangStep`) are steps of this one stage, so several of them run in one pass
over the data, one read and one write: `olmoasr tag seg ... --filter CONFIG`, or from Python
`run_record_steps(input, output, [tagging_step, filtering_step])`.

Per task the stage counts `records` / `seconds` read and `kept/records` / `kept/seconds` written, adds
each step's own stats, and writes the kept records in input order under the shard's own name in the
output directory (a big shard is split into line ranges when there are fewer shards than workers, and
`merge_parts` joins them: `shard_parts.py`). Dropped records go to `rejects_dir` when one is given, as the
step left them (filtering adds `_drop_reason` and `_drop_step`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter
from olmoasr.io.storage import AnyPath, absolute, as_path, location_str
from olmoasr.pipeline.executor import (
    BaseExecutor,
    LocalExecutor,
    ProgressFn,
    ShardTask,
    StageReport,
    Stats,
    merge_stats,
    run_stage,
)
from olmoasr.pipeline.shard_parts import (
    iter_task_records,
    merge_part_files,
    merged_part_stats,
    plan_record_tasks,
    plan_shards,
    task_output_path,
)
from olmoasr.records.schema import record_duration_s

PROGRESS_EVERY = 2000
# gzip level of record-stage outputs (`.jsonl.gz` shards): level 3 compresses a tagged document ~3x
# faster than the default 6 (it would otherwise cost as much CPU as all the taggers together) for ~10%
# more bytes.
OUTPUT_GZIP_LEVEL = 3

ShardPlan = tuple[str, str, str]  # (shard key, input file, output name relative to the output directory)


class RecordMapper(Protocol):
    """One step's state inside one task (built in the worker by `RecordStep.start`)."""

    def map(self, record: dict[str, Any], where: str) -> dict[str, Any] | None:
        """The record to keep (possibly changed in place), or None to drop it."""
        ...

    def finish(self) -> Stats:
        """The step's additive stats for this task."""
        ...


class RecordStep(Protocol):
    """A picklable description of one step (it is sent to worker processes)."""

    @property
    def name(self) -> str:
        """Part of the stage name, hence of its completion markers: changes when the step's settings do."""
        ...

    def start(self, task: ShardTask) -> RecordMapper: ...

    def shard_done(self, output_dir: AnyPath, shard: str, stats: Stats) -> None:
        """Called once a shard's output is complete (after the merge for a split shard)."""
        ...


@dataclass
class RecordMapStage:
    """Executor stage: one task per input shard (or line range of a big one) through `steps`."""

    shards: tuple[ShardPlan, ...]
    output_dir: AnyPath
    steps: tuple[RecordStep, ...]
    rejects_dir: AnyPath | None = None
    workers: int = 1
    report_bad_lines: bool = True  # False when an earlier pass over the same shards already reported them
    name: str = ""
    # Ray scheduling hints: one record at a time, streaming (a step holding a big map asks for more).
    resources: dict[str, float] = field(default_factory=lambda: {"num_cpus": 1, "memory": 512 << 20})

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a record-map stage needs at least one step")
        self.output_dir = as_path(self.output_dir)
        self.rejects_dir = as_path(self.rejects_dir) if self.rejects_dir is not None else None
        if not self.name:
            self.name = "+".join(step.name for step in self.steps)
            if self.rejects_dir is not None:  # other rejects, other outputs: not the same finished run
                where = location_str(absolute(self.rejects_dir)).encode()
                self.name += f"+rejects-{hashlib.sha1(where).hexdigest()[:10]}"

    def plan(self) -> list[ShardTask]:
        return plan_record_tasks(list(self.shards), self.output_dir, self.name, self.workers)

    def run_task(self, task: ShardTask, progress: ProgressFn) -> Stats:
        in_path, rel = task.inputs[0], task.inputs[1]
        mappers = [step.start(task) for step in self.steps]
        read_stats = JsonlReadStats()
        records = kept = pending = 0
        seconds_in = seconds_kept = 0.0
        rejects = None
        if self.rejects_dir is not None:
            rejects_path = task_output_path(self.rejects_dir, self.name, task, rel)
            rejects = JsonlWriter(rejects_path, compresslevel=OUTPUT_GZIP_LEVEL)
        try:
            output = task_output_path(self.output_dir, self.name, task, rel)
            with JsonlWriter(output, compresslevel=OUTPUT_GZIP_LEVEL) as out:
                for line_no, record in iter_task_records(task, read_stats, self.report_bad_lines):
                    seconds = record_duration_s(record)
                    records += 1
                    seconds_in += seconds
                    where = f"{in_path}:{line_no}"
                    result: dict[str, Any] | None = record
                    for mapper in mappers:
                        result = mapper.map(result, where)
                        if result is None:
                            break
                    if result is not None:
                        out.write(result)
                        kept += 1
                        seconds_kept += seconds
                    elif rejects is not None:
                        rejects.write(record)
                    pending += 1
                    if pending == PROGRESS_EVERY:
                        progress(pending)
                        pending = 0
            if rejects is not None:
                rejects.close()
        except BaseException:
            if rejects is not None:
                rejects.abort()
            raise
        progress(pending)
        stats: Stats = {
            "shards": 1,
            "records": records,
            "seconds": seconds_in,
            "kept/records": kept,
            "kept/seconds": seconds_kept,
            "malformed_lines": read_stats.malformed,
        }
        for mapper in mappers:
            merge_stats(stats, mapper.finish())
        if task.num_parts == 1:
            for step in self.steps:
                step.shard_done(self.output_dir, task.shard, stats)
        return stats

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        rel = next(rel for key, _, rel in self.shards if key == shard)
        merge_part_files(self.output_dir, self.name, rel, num_parts)
        if self.rejects_dir is not None:
            merge_part_files(self.rejects_dir, self.name, rel, num_parts)
        stats = merged_part_stats(self.output_dir, self.name, shard, num_parts)
        for step in self.steps:
            step.shard_done(self.output_dir, shard, stats)
        return stats


def run_record_steps(
    input_path: AnyPath,
    output_dir: AnyPath,
    steps: Sequence[RecordStep],
    rejects_dir: AnyPath | None = None,
    workers: int | None = None,
    show_progress: bool = True,
    executor: BaseExecutor | None = None,
    allow_partial: bool = False,
    shards: Sequence[ShardPlan] | None = None,
) -> StageReport:
    """Run `steps` over every JSONL shard under `input_path` in one pass, into `output_dir`. An input
    folder whose upstream run did not finish is refused unless `allow_partial`; `shards`, when the caller
    already planned them (`plan_shards`), are used as they are."""
    executor = executor or LocalExecutor(workers=workers, show_progress=show_progress)
    if shards is None:
        shards = plan_shards(input_path, output_dir, allow_partial)
    stage = RecordMapStage(
        tuple(shards),
        as_path(output_dir),
        tuple(steps),
        rejects_dir=rejects_dir,
        workers=executor.workers,
    )
    return run_stage(stage, executor=executor)
