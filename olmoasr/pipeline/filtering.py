"""The filter stage: keep the records that pass every step of a filter config (spec §5), shard by shard.

A record is dropped at the first failing step; the step's reason (`casing`, `missing:edit_dist`, ...) is
counted, and with a rejects directory the record is written there with `_drop_reason` and `_drop_step`.
The run ends with a funnel like the paper's Fig. 2: records and hours left after each step and the
percentage of the previous step, printed and written as `filter_funnel.json`. Filtering is one step of
the record-map stage (`record_map.py`), so it can also run in the same pass as tagging.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_bytes, remove_stale_temporaries
from olmoasr.io.storage import AnyPath, absolute, as_path
from olmoasr.pipeline.executor import BaseExecutor, ShardTask, StageReport, Stats
from olmoasr.pipeline.filter_config import MISSING_POLICIES, FilterConfig, FilterStep, load_filter_config
from olmoasr.pipeline.record_map import run_record_steps
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


class RecordFilter:
    """One task's filtering: drops a record at its first failing step and counts why (and its hours)."""

    def __init__(self, steps: tuple[FilterStep, ...], missing: str):
        self.steps = steps
        self.missing = missing
        self.stats: Stats = {}

    def map(self, record: dict[str, Any], where: str) -> dict[str, Any] | None:
        dropped = apply_filters(record, self.steps, self.missing)
        if dropped is None:
            return record
        index, reason = dropped
        stats = self.stats
        for key, value in (
            (f"drop/{index}/records", 1),
            (f"drop/{index}/seconds", record_duration_s(record)),
            (f"reason/{reason}", 1),
        ):
            stats[key] = stats.get(key, 0) + value
        record["_drop_reason"] = reason  # seen only in the rejects directory
        record["_drop_step"] = index
        return None

    def finish(self) -> Stats:
        stats, self.stats = self.stats, {}
        return stats


@dataclass(frozen=True)
class FilteringStep:
    """The record-map step of a filter config."""

    config: FilterConfig
    missing: str = "drop"

    def __post_init__(self) -> None:
        if self.missing not in MISSING_POLICIES:
            raise UsageError(f"--missing must be one of {', '.join(MISSING_POLICIES)}, got {self.missing!r}")

    @classmethod
    def from_config(cls, config: str | Path | FilterConfig, missing: str = "drop") -> FilteringStep:
        return cls(config if isinstance(config, FilterConfig) else load_filter_config(config), missing)

    @property
    def name(self) -> str:
        return f"filter-{hashlib.sha1(repr((self.config.steps, self.missing)).encode()).hexdigest()[:10]}"

    def start(self, task: ShardTask) -> RecordFilter:
        return RecordFilter(self.config.steps, self.missing)

    def shard_done(self, output_dir: AnyPath, shard: str, stats: Stats) -> None:
        return None


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
        "config": config.file_name,
        "config_name": config.name,
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


def prepare_rejects_dir(input_path: AnyPath, output_dir: AnyPath, rejects_dir: AnyPath | None) -> None:
    """Check that a rejects directory stands apart, and clear what a killed run left in it."""
    if rejects_dir is None:
        return
    rejects = as_path(rejects_dir)
    _check_rejects_dir(as_path(input_path), as_path(output_dir), rejects)
    remove_stale_temporaries(rejects)  # the executor cleans only the output directory


def write_funnel(report: StageReport, step: FilteringStep, output_dir: AnyPath) -> dict[str, Any]:
    """The run's funnel, also written as `filter_funnel.json` in the output directory."""
    result = funnel(report.stats, step.config)
    result["missing_policy"] = step.missing
    result["failed_shards"] = [{"shard": k, "error": m} for k, m in report.failures]
    atomic_write_bytes(as_path(output_dir) / FUNNEL_FILE, orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result


def filter_records(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | FilterConfig = "text_heurs_seg_edit_dist_edit_dist",
    missing: str = "drop",
    rejects_dir: str | Path | None = None,
    workers: int | None = None,
    show_progress: bool = True,
    executor: BaseExecutor | None = None,
    allow_partial: bool = False,
) -> FilterRunSummary:
    """Filter tagged records with a config (name of a shipped one or a path); see the module docstring.
    An input folder whose upstream run did not finish is refused unless `allow_partial`."""
    step = FilteringStep.from_config(config, missing)
    rejects = as_path(rejects_dir) if rejects_dir else None
    prepare_rejects_dir(input_path, output_dir, rejects)
    report = run_record_steps(input_path, output_dir, [step], rejects, workers, show_progress, executor, allow_partial)
    result = write_funnel(report, step, output_dir)
    return FilterRunSummary(report=report, config=step.config, output_dir=as_path(output_dir), funnel=result)
