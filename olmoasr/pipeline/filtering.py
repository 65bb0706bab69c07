"""The filter stage: keep the records that pass every step of a filter config (spec §5), shard by shard.

A record is dropped at the first failing step; the step's reason (`casing`, `missing:edit_dist`, ...) is
counted, and with a rejects directory the record is written there with `_drop_reason` and `_drop_step`.
The run ends with a funnel like the paper's Fig. 2: records and hours left after each step and the
percentage of the previous step, printed and written as `filter_funnel.json`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_bytes, remove_stale_temporaries
from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter
from olmoasr.io.storage import AnyPath, absolute, as_path
from olmoasr.pipeline.executor import ShardTask, StageReport, Stats, run_stage
from olmoasr.pipeline.filter_config import MISSING_POLICIES, FilterConfig, FilterStep, load_filter_config
from olmoasr.pipeline.shard_parts import (
    iter_task_records,
    merge_part_files,
    merged_part_stats,
    plan_record_tasks,
    plan_shards,
    task_output_path,
)
from olmoasr.pipeline.tagging import OUTPUT_GZIP_LEVEL, PROGRESS_EVERY, worker_count
from olmoasr.records.schema import record_duration_s

FUNNEL_FILE = "filter_funnel.json"


def apply_filters(
    record: dict[str, Any], steps: tuple[FilterStep, ...], missing: str = "drop"
) -> tuple[int, str] | None:
    """None if `record` passes every step (clean-up steps may rewrite it), else (step index, reason)."""
    for index, step in enumerate(steps):
        reason = step.apply(record, missing)
        if reason is not None:
            return index, reason
    return None


@dataclass
class FilterStage:
    """Executor stage: one task per input shard; kept records keep the shard's name."""

    input_path: AnyPath
    output_dir: AnyPath
    config: FilterConfig
    missing: str = "drop"
    rejects_dir: AnyPath | None = None
    name: str = ""
    # Ray scheduling hints: one record at a time, streaming.
    resources: ClassVar[dict[str, float]] = {"num_cpus": 1, "memory": 512 << 20}
    workers: int = 1

    def __post_init__(self) -> None:
        self.input_path = as_path(self.input_path)
        self.output_dir = as_path(self.output_dir)
        self.rejects_dir = as_path(self.rejects_dir) if self.rejects_dir is not None else None
        if self.missing not in MISSING_POLICIES:
            raise UsageError(f"--missing must be one of {', '.join(MISSING_POLICIES)}, got {self.missing!r}")
        if not self.name:
            blob = repr((self.config.steps, self.missing, str(self.rejects_dir))).encode()
            self.name = f"filter-{hashlib.sha1(blob).hexdigest()[:10]}"

    def plan(self) -> list[ShardTask]:
        return plan_record_tasks(
            plan_shards(self.input_path, self.output_dir), self.output_dir, self.name, self.workers
        )

    def run_task(self, task: ShardTask, progress: Callable[[int], None]) -> Stats:
        steps, missing = self.config.steps, self.missing
        records = kept = 0
        seconds_in = seconds_kept = 0.0
        drops: Stats = {}
        read_stats = JsonlReadStats()
        rejects = None
        if self.rejects_dir is not None:
            rejects = JsonlWriter(task_output_path(self.rejects_dir, task), compresslevel=OUTPUT_GZIP_LEVEL)
        try:
            with JsonlWriter(task_output_path(self.output_dir, task), compresslevel=OUTPUT_GZIP_LEVEL) as out:
                for _, record in iter_task_records(task, read_stats):
                    seconds = record_duration_s(record)
                    records += 1
                    seconds_in += seconds
                    dropped = apply_filters(record, steps, missing)
                    if dropped is None:
                        out.write(record)
                        kept += 1
                        seconds_kept += seconds
                    else:
                        index, reason = dropped
                        for key, value in (
                            (f"drop/{index}/records", 1),
                            (f"drop/{index}/seconds", seconds),
                            (f"reason/{reason}", 1),
                        ):
                            drops[key] = drops.get(key, 0) + value
                        if rejects is not None:
                            record["_drop_reason"] = reason
                            record["_drop_step"] = index
                            rejects.write(record)
                    if records % PROGRESS_EVERY == 0:
                        progress(PROGRESS_EVERY)
            if rejects is not None:
                rejects.close()
        except BaseException:
            if rejects is not None:
                rejects.abort()
            raise
        progress(records % PROGRESS_EVERY)
        return {
            "shards": 1,
            "records": records,
            "seconds": seconds_in,
            "kept/records": kept,
            "kept/seconds": seconds_kept,
            "malformed_lines": read_stats.malformed,
            **drops,
        }

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        rel = next(t.inputs[1] for t in self.plan() if t.shard == shard)
        merge_part_files(self.output_dir, rel, num_parts)
        if self.rejects_dir is not None:
            merge_part_files(self.rejects_dir, rel, num_parts)
        return merged_part_stats(self.output_dir, self.name, shard, num_parts)


# ------------------------------------------------------------------------------------------- funnel


def funnel(stats: Stats, config: FilterConfig) -> dict[str, Any]:
    """Records and hours left after each step, with the percentage of the previous step (Fig. 2 style)."""
    records, hours = stats.get("records", 0), stats.get("seconds", 0.0) / 3600
    rows = [{"step": "input", "records": records, "hours": hours, "pct_records": 100.0, "pct_hours": 100.0}]
    for index, step in enumerate(config.steps):
        kept_records = records - stats.get(f"drop/{index}/records", 0)
        kept_hours = hours - stats.get(f"drop/{index}/seconds", 0.0) / 3600
        rows.append(
            {
                "step": f"{index + 1}. {step.describe()}",
                "records": kept_records,
                "hours": max(kept_hours, 0.0),
                "pct_records": 100.0 * kept_records / records if records else 0.0,
                "pct_hours": 100.0 * kept_hours / hours if hours else 0.0,
            }
        )
        records, hours = kept_records, max(kept_hours, 0.0)
    return {
        "config": config.name,
        "config_path": config.path,
        "input": {"records": stats.get("records", 0), "hours": stats.get("seconds", 0.0) / 3600},
        "kept": {"records": stats.get("kept/records", 0), "hours": stats.get("kept/seconds", 0.0) / 3600},
        "steps": rows,
        "drop_reasons": {k.split("/", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("reason/")},
        "malformed_lines": stats.get("malformed_lines", 0),
        "shards": stats.get("shards", 0),
    }


@dataclass
class FilterRunSummary:
    report: StageReport
    config: FilterConfig
    output_dir: Path
    funnel: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report.ok


def _check_rejects_dir(input_path: AnyPath, output_dir: AnyPath, rejects_dir: AnyPath) -> None:
    rejects = absolute(rejects_dir)
    for other, what in ((output_dir, "output"), (input_path, "input")):
        other = absolute(other)
        if type(other) is not type(rejects):
            continue
        if rejects == other or other in rejects.parents or rejects in other.parents:
            raise UsageError(f"{rejects_dir}: the rejects directory must be apart from the {what} directory")


def filter_records(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | FilterConfig = "text_heurs_seg_edit_dist_edit_dist",
    missing: str = "drop",
    rejects_dir: str | Path | None = None,
    workers: int | None = None,
    show_progress: bool = True,
    executor: Any = None,
) -> FilterRunSummary:
    """Filter tagged records with a config (name of a shipped one or a path); see the module docstring."""
    if not isinstance(config, FilterConfig):
        config = load_filter_config(config)
    rejects = as_path(rejects_dir) if rejects_dir else None
    if rejects is not None:
        _check_rejects_dir(as_path(input_path), as_path(output_dir), rejects)
        remove_stale_temporaries(rejects)  # left by a killed run (the executor cleans the output dir)
    stage = FilterStage(
        as_path(input_path), as_path(output_dir), config, missing, rejects, workers=worker_count(workers, executor)
    )
    report = run_stage(stage, workers=workers, show_progress=show_progress, executor=executor)
    result = funnel(report.stats, config)
    result["missing_policy"] = missing
    result["failed_shards"] = [{"shard": k, "error": m} for k, m in report.failures]
    atomic_write_bytes(as_path(output_dir) / FUNNEL_FILE, orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return FilterRunSummary(report=report, config=config, output_dir=as_path(output_dir), funnel=result)
