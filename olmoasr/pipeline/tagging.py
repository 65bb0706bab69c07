"""The tag stage: run a tagging config's taggers over every document or segment record, shard by shard.

Config: the original's YAML (`name`, `pipeline: [{tag: casing}, ...]`), validated when loaded: an unknown
tagger, an unknown option or a segment-only tagger in a document run is a `ConfigError` naming the file
and the key. Output: the same shard names under the output directory with the tags merged into each
record, `<shard>_stats.json` per shard, and `<config name>_summary.json` for the whole run. Records
stream through (memory does not grow with the shard), shards run on all cores through the executor (a
big shard is split into line ranges when there are fewer shards than workers, `shard_parts.py`), and
finished shards are skipped on re-run.

At segment level the texts come from `seg_content` (and prep's aligned machine segment), and tags are
written as `seg_<tag>` so the document tags carried into each segment are never overwritten: the
original's `main_tagging_seg.yaml` (`edit_dist`) therefore yields `seg_edit_dist`, the field the
filter configs test.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import orjson

from olmoasr.configs import load_yaml_mapping, resolve_config
from olmoasr.errors import ConfigError, UsageError
from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter
from olmoasr.io.storage import AnyPath, as_path
from olmoasr.log import warn
from olmoasr.pipeline.executor import ShardTask, StageReport, Stats, run_stage
from olmoasr.pipeline.shard_parts import (
    iter_task_records,
    merge_part_files,
    merged_part_stats,
    plan_record_tasks,
    plan_shards,
    task_output_path,
)
from olmoasr.pipeline.taggers import LEVELS, TAGGERS, Level, Tagger
from olmoasr.pipeline.taggers.context import UnparseableRecord, build_context
from olmoasr.records.schema import record_duration_s

PROGRESS_EVERY = 2000
WARNINGS_PER_KIND = 20
# gzip level of tag/filter outputs (`.jsonl.gz` shards): level 3 compresses a tagged document ~3x faster
# than the default 6 (it would otherwise cost as much CPU as all the taggers together) for ~10% more bytes.
OUTPUT_GZIP_LEVEL = 3

# ------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TaggingConfig:
    """A validated tagging config: `steps` = ((tagger name, options), ...) in pipeline order."""

    name: str
    path: str
    level: Level
    steps: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]

    def build(self) -> list[Tagger]:
        return [TAGGERS[name](**dict(options)) for name, options in self.steps]

    @property
    def fields(self) -> list[str]:
        return [tagger.output_field(self.level) for tagger in self.build()]

    def fingerprint(self) -> str:
        blob = orjson.dumps([self.level, [[n, list(map(list, o))] for n, o in self.steps]])
        return hashlib.sha1(blob).hexdigest()[:10]


def _check_option(path: str, where: str, cls: type[Tagger], key: str, value: Any) -> None:
    default = next(f.default for f in fields(cls) if f.name == key)
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(path, f"{where}: option '{key}' must be a {expected.__name__}, got {value!r}")


def load_tagging_config(name_or_path: str | Path, level: Level = "document") -> TaggingConfig:
    """Load and validate a tagging YAML (a path, or the name of a shipped config such as `main_tagging`)."""
    if level not in LEVELS:
        raise UsageError(f"unknown tagging level {level!r} (document or segment)")
    path = resolve_config(name_or_path, "tagging")
    where_file = str(path)
    data = load_yaml_mapping(path)
    for key in data:
        if key not in ("name", "pipeline"):
            raise ConfigError(where_file, f"unknown key '{key}' (allowed: name, pipeline)")
    pipeline = data.get("pipeline")
    if not isinstance(pipeline, list) or not pipeline:
        raise ConfigError(where_file, "`pipeline` must be a non-empty list of `- tag: <tagger>` entries")
    steps = []
    seen_fields: dict[str, int] = {}
    for i, entry in enumerate(pipeline):
        where = f"pipeline[{i}]"
        if not isinstance(entry, dict) or "tag" not in entry:
            raise ConfigError(where_file, f"{where}: expected a mapping with a `tag` key, got {entry!r}")
        name = entry["tag"]
        cls = TAGGERS.get(name) if isinstance(name, str) else None
        if cls is None:
            known = ", ".join(sorted(TAGGERS))
            raise ConfigError(where_file, f"{where}: unknown tagger '{name}' (known: {known})")
        where = f"pipeline[{i}] (tag: {name})"
        allowed = cls.option_names()
        options = []
        for key, value in entry.items():
            if key == "tag":
                continue
            if key not in allowed:
                hint = f"allowed: {', '.join(allowed)}" if allowed else "this tagger takes no options"
                raise ConfigError(where_file, f"{where}: unknown key '{key}' ({hint})")
            _check_option(where_file, where, cls, key, value)
            options.append((key, value))
        if level not in cls.levels:
            raise ConfigError(where_file, f"{where}: '{name}' is a segment-level tagger; run `olmoasr tag seg`")
        out_field = cls(**dict(options)).output_field(level)
        if out_field in seen_fields:
            raise ConfigError(where_file, f"{where}: writes '{out_field}' like pipeline[{seen_fields[out_field]}]")
        seen_fields[out_field] = i
        steps.append((name, tuple(options)))
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise ConfigError(where_file, f"`name` must be a string, got {name!r}")
    return TaggingConfig(name=name, path=where_file, level=level, steps=tuple(steps))


# ------------------------------------------------------------------------------------------- tagging


class RecordTagger:
    """Applies a config's taggers to records and keeps the additive statistics of what it saw."""

    def __init__(self, config: TaggingConfig):
        self.config = config
        self.taggers = config.build()
        self.fields = [t.output_field(config.level) for t in self.taggers]
        self.stats: Stats = {}
        self._bucket_keys: dict[tuple[str, str], tuple[str, str]] = {}
        self._warned: dict[str, int] = {}

    def _warn(self, kind: str, message: str) -> None:
        """One line per problem, up to WARNINGS_PER_KIND of a kind per shard (all are counted in the stats)."""
        seen = self._warned.get(kind, 0)
        self._warned[kind] = seen + 1
        if seen < WARNINGS_PER_KIND:
            warn(message)
        elif seen == WARNINGS_PER_KIND:
            warn(f"{message.split(': ', 1)[0]}: more records like this ({kind}) are counted, not reported")

    def _add(self, key: str, value: float) -> None:
        self.stats[key] = self.stats.get(key, 0) + value

    def tag(self, record: dict[str, Any], where: str = "<record>") -> dict[str, Any]:
        """Merge the tags into `record` (in place) and return it. Unreadable records are returned untagged."""
        duration = record_duration_s(record)
        self._add("records", 1)
        self._add("seconds", duration)
        try:
            ctx = build_context(record, self.config.level, where, duration)
        except UnparseableRecord as err:
            self._add(f"untagged/{err.reason}", 1)
            self._warn(err.reason, f"{where}: not tagged: {err}")
            return record
        if not ctx.captions:
            self._add("empty_transcripts", 1)
        for tagger, out_field in zip(self.taggers, self.fields, strict=True):
            started = time.perf_counter()
            try:
                value = tagger.tag(ctx)
            except Exception as err:  # one broken record never stops a shard; it is counted and named
                self._add(f"tagger_errors/{out_field}", 1)
                self._warn(tagger.name, f"{where}: tagger {tagger.name} failed: {type(err).__name__}: {err}")
                continue
            self._add(f"cpu_seconds/{out_field}", time.perf_counter() - started)
            record[out_field] = value
            bucket = tagger.bucket(value)
            if bucket is not None:
                keys = self._bucket_keys.get((out_field, bucket))
                if keys is None:
                    keys = self._bucket_keys[(out_field, bucket)] = (
                        f"tag/{out_field}/{bucket}/records",
                        f"tag/{out_field}/{bucket}/seconds",
                    )
                self._add(keys[0], 1)
                self._add(keys[1], duration)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._add(f"tag/{out_field}/sum", value)
        return record

    def finish(self) -> Stats:
        for tagger, out_field in zip(self.taggers, self.fields, strict=True):
            for event, n in tagger.events.items():
                self._add(f"events/{out_field}/{event}", n)
            tagger.events.clear()
        stats, self.stats = self.stats, {}
        self._warned.clear()
        return stats


def tag_record(record: dict[str, Any], config: TaggingConfig) -> dict[str, Any]:
    """Tag one record dict (convenience for notebooks; stages use `RecordTagger` per shard)."""
    return RecordTagger(config).tag(record)


# ------------------------------------------------------------------------------------------- stage


def shard_stats_path(output_dir: AnyPath, shard_key: str) -> AnyPath:
    return as_path(output_dir) / f"{shard_key}_stats.json"


@dataclass
class TagStage:
    """Executor stage: one task per input shard (or per line range of a big one); output = same shard name
    with the tags merged in, plus `<shard>_stats.json`."""

    input_path: AnyPath
    output_dir: AnyPath
    config: TaggingConfig
    name: str = ""
    # Ray scheduling hints: one record at a time, streaming.
    resources: ClassVar[dict[str, float]] = {"num_cpus": 1, "memory": 512 << 20}
    workers: int = 1

    def __post_init__(self) -> None:
        self.input_path = as_path(self.input_path)
        self.output_dir = as_path(self.output_dir)
        if not self.name:
            self.name = f"tag-{self.config.level}-{self.config.fingerprint()}"

    def plan(self) -> list[ShardTask]:
        return plan_record_tasks(
            plan_shards(self.input_path, self.output_dir), self.output_dir, self.name, self.workers
        )

    def run_task(self, task: ShardTask, progress: Callable[[int], None]) -> Stats:
        in_path = task.inputs[0]
        tagger = RecordTagger(self.config)
        read_stats = JsonlReadStats()
        pending = 0
        with JsonlWriter(task_output_path(self.output_dir, task), compresslevel=OUTPUT_GZIP_LEVEL) as out:
            for line_no, record in iter_task_records(task, read_stats):
                out.write(tagger.tag(record, f"{in_path}:{line_no}"))
                pending += 1
                if pending == PROGRESS_EVERY:
                    progress(pending)
                    pending = 0
        progress(pending)
        stats = tagger.finish()
        stats["shards"] = 1
        stats["malformed_lines"] = read_stats.malformed
        if task.num_parts == 1:
            self._write_shard_stats(task.shard, stats)
        return stats

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        rel = next(t.inputs[1] for t in self.plan() if t.shard == shard)
        merge_part_files(self.output_dir, rel, num_parts)
        stats = merged_part_stats(self.output_dir, self.name, shard, num_parts)
        self._write_shard_stats(shard, stats)
        return stats

    def _write_shard_stats(self, shard: str, stats: Stats) -> None:
        atomic_write_bytes(
            shard_stats_path(self.output_dir, shard),
            orjson.dumps({"shard": shard, "config": self.config.name, "stats": stats}, option=orjson.OPT_INDENT_2),
        )


# ------------------------------------------------------------------------------------------- summary


@dataclass
class TagRunSummary:
    """What a tag run did: the executor report plus the tag statistics, shaped for a table."""

    report: StageReport
    config: TaggingConfig
    output_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report.ok


def summarize_tag_stats(stats: Stats, config: TaggingConfig) -> dict[str, Any]:
    records = stats.get("records", 0)
    tags: dict[str, Any] = {}
    for out_field in config.fields:
        buckets: dict[str, dict[str, float]] = {}
        prefix = f"tag/{out_field}/"
        for key, value in stats.items():
            if key.startswith(prefix) and key.count("/") == 3:
                bucket, unit = key[len(prefix) :].rsplit("/", 1)
                buckets.setdefault(bucket, {})["records" if unit == "records" else "hours"] = (
                    value if unit == "records" else value / 3600
                )
        entry: dict[str, Any] = {"buckets": dict(sorted(buckets.items()))}
        tagged = records - stats.get(f"tagger_errors/{out_field}", 0) - _untagged(stats)
        tagged -= stats.get(f"tag/{out_field}/null/records", 0)  # a null tag (no value) is not in the mean
        if f"tag/{out_field}/sum" in stats and tagged:
            entry["mean"] = stats[f"tag/{out_field}/sum"] / tagged
        entry["cpu_seconds"] = stats.get(f"cpu_seconds/{out_field}", 0.0)
        entry["errors"] = stats.get(f"tagger_errors/{out_field}", 0)
        events = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith(f"events/{out_field}/")}
        if events:
            entry["events"] = events
        tags[out_field] = entry
    return {
        "config": config.name,
        "config_path": config.path,
        "level": config.level,
        "shards": stats.get("shards", 0),
        "records": records,
        "hours": stats.get("seconds", 0.0) / 3600,
        "malformed_lines": stats.get("malformed_lines", 0),
        "untagged": {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("untagged/")},
        "empty_transcripts": stats.get("empty_transcripts", 0),
        "tags": tags,
    }


def _untagged(stats: Stats) -> float:
    return sum(v for k, v in stats.items() if k.startswith("untagged/"))


def worker_count(workers: int | None, executor: Any) -> int:
    if executor is not None:
        return max(1, getattr(executor, "workers", 1) or 1)
    return max(1, workers or os.cpu_count() or 1)


def summary_path(output_dir: str | Path, config: TaggingConfig) -> Path:
    """`<config name>_summary.json` (the name made safe for a file name)."""
    return as_path(output_dir) / (re.sub(r"[^\w.-]+", "_", config.name) + "_summary.json")


def run_tagging(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | TaggingConfig,
    level: Level,
    workers: int | None = None,
    show_progress: bool = True,
    executor: Any = None,
) -> TagRunSummary:
    if not isinstance(config, TaggingConfig):
        config = load_tagging_config(config, level)
    elif config.level != level:
        raise UsageError(f"config {config.name} was loaded for {config.level} level, not {level}")
    stage = TagStage(as_path(input_path), as_path(output_dir), config, workers=worker_count(workers, executor))
    report = run_stage(stage, workers=workers, show_progress=show_progress, executor=executor)
    summary = summarize_tag_stats(report.stats, config)
    summary["failed_shards"] = [{"shard": k, "error": m} for k, m in report.failures]
    atomic_write_bytes(summary_path(output_dir, config), orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return TagRunSummary(report=report, config=config, output_dir=as_path(output_dir), summary=summary)


def tag_documents(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | TaggingConfig = "main_tagging",
    workers: int | None = None,
    show_progress: bool = True,
    executor: Any = None,
) -> TagRunSummary:
    """Tag document records (`prep jsonl` output): `content`, `mach_content` -> casing, text_lang, ..."""
    return run_tagging(input_path, output_dir, config, "document", workers, show_progress, executor)


def tag_segments(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | TaggingConfig = "main_tagging_seg",
    workers: int | None = None,
    show_progress: bool = True,
    executor: Any = None,
) -> TagRunSummary:
    """Tag segment records (`prep segment` output) from `seg_content` and the aligned machine segment."""
    return run_tagging(input_path, output_dir, config, "segment", workers, show_progress, executor)
