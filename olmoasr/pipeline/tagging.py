"""The tag stage: run a tagging config's taggers over every document or segment record, shard by shard.

Config: the original's YAML (`name`, `pipeline: [{tag: casing}, ...]`), validated when loaded: an unknown
tagger, an unknown option or a segment-only tagger in a document run is a `ConfigError` naming the file
and the key. Output: the same shard names under the output directory with the tags merged into each
record, `<shard>_stats.json` per shard, and `<config name>_summary.json` for the whole run. Tagging is
one step of the record-map stage (`record_map.py`): records stream through, shards run on all cores
through the executor, finished shards are skipped on re-run, and a filter config can run in the same
pass (`run_tagging(..., filter_config=...)`, `olmoasr tag seg --filter`).

At segment level the texts come from `seg_content` (and prep's aligned machine segment), and tags are
written as `seg_<tag>` so the document tags carried into each segment are never overwritten: the
original's `main_tagging_seg.yaml` (`edit_dist`) therefore yields `seg_edit_dist`, the field the
filter configs test.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from olmoasr.configs import load_yaml_mapping, resolve_config
from olmoasr.errors import ConfigError, UsageError
from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.storage import AnyPath, as_path
from olmoasr.log import warn
from olmoasr.pipeline.executor import BaseExecutor, ShardTask, StageReport, Stats
from olmoasr.pipeline.record_map import RecordStep, run_record_steps
from olmoasr.pipeline.shard_parts import plan_shards
from olmoasr.pipeline.taggers import LEVELS, TAGGERS, Level, Tagger
from olmoasr.pipeline.taggers.context import UnparseableRecord, build_context
from olmoasr.records.schema import record_duration_s, refuse_other_record_kind

WARNINGS_PER_KIND = 20

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
    """Applies a config's taggers to records and keeps the additive statistics of what it saw (the
    record-map stage counts the records and seconds read)."""

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

    def map(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        return self.tag(record, where)

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


# ------------------------------------------------------------------------------------------- step


def shard_stats_path(output_dir: AnyPath, shard_key: str) -> AnyPath:
    return as_path(output_dir) / f"{shard_key}_stats.json"


@dataclass(frozen=True)
class TaggingStep:
    """The record-map step of a tagging config; writes `<shard>_stats.json` beside each output shard."""

    config: TaggingConfig

    @property
    def name(self) -> str:
        return f"tag-{self.config.level}-{self.config.fingerprint()}"

    def start(self, task: ShardTask) -> RecordTagger:
        return RecordTagger(self.config)

    def shard_done(self, output_dir: AnyPath, shard: str, stats: Stats) -> None:
        atomic_write_bytes(
            shard_stats_path(output_dir, shard),
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
    funnel: dict[str, Any] | None = None  # when a filter config ran in the same pass

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
    executor: BaseExecutor | None = None,
    filter_config: Any = None,
    missing: str = "drop",
    rejects_dir: str | Path | None = None,
    allow_partial: bool = False,
) -> TagRunSummary:
    """Tag every shard under `input_path` into `output_dir`. With `filter_config` (a `FilterConfig`, a
    shipped name or a path) the filter runs in the same pass: the output holds the tagged records that
    pass it, and `filter_funnel.json` is written as by `filter_records`. An input folder whose upstream
    run did not finish is refused unless `allow_partial`."""
    if not isinstance(config, TaggingConfig):
        config = load_tagging_config(config, level)
    elif config.level != level:
        raise UsageError(f"config {config.name} was loaded for {config.level} level, not {level}")
    other = "tag doc" if level == "segment" else "tag seg"
    shards = plan_shards(input_path, output_dir, allow_partial)  # checks the paths (and completion) first
    inputs = [path for _, path, _ in shards]
    refuse_other_record_kind(inputs, level, f"{other} tags those")
    steps: list[RecordStep] = [TaggingStep(config)]
    filtering = None
    if filter_config is not None:
        from olmoasr.pipeline.filtering import FilteringStep, prepare_rejects_dir

        filtering = FilteringStep.from_config(filter_config, missing)
        steps.append(filtering)
        prepare_rejects_dir(input_path, output_dir, rejects_dir)
    elif rejects_dir is not None:
        raise UsageError("a rejects directory needs a filter config to run in the same pass")
    report = run_record_steps(
        input_path, output_dir, steps, rejects_dir, workers, show_progress, executor, shards=shards
    )
    summary = summarize_tag_stats(report.stats, config)
    summary["failed_shards"] = [{"shard": k, "error": m} for k, m in report.failures]
    atomic_write_bytes(summary_path(output_dir, config), orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    result = TagRunSummary(report=report, config=config, output_dir=as_path(output_dir), summary=summary)
    if filtering is not None:
        from olmoasr.pipeline.filtering import write_funnel

        result.funnel = write_funnel(report, filtering, output_dir)
    return result


def tag_documents(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | TaggingConfig = "main_tagging",
    workers: int | None = None,
    show_progress: bool = True,
    executor: BaseExecutor | None = None,
    **filter_options: Any,
) -> TagRunSummary:
    """Tag document records (`prep jsonl` output): `content`, `mach_content` -> casing, text_lang, ...
    `filter_options` (`filter_config`, `missing`, `rejects_dir`) filter in the same pass; `allow_partial`
    reads an unfinished upstream folder."""
    return run_tagging(input_path, output_dir, config, "document", workers, show_progress, executor, **filter_options)


def tag_segments(
    input_path: str | Path,
    output_dir: str | Path,
    config: str | Path | TaggingConfig = "main_tagging_seg",
    workers: int | None = None,
    show_progress: bool = True,
    executor: BaseExecutor | None = None,
    **filter_options: Any,
) -> TagRunSummary:
    """Tag segment records (`prep segment` output) from `seg_content` and the aligned machine segment.
    `filter_options` (`filter_config`, `missing`, `rejects_dir`) filter in the same pass; `allow_partial`
    reads an unfinished upstream folder."""
    return run_tagging(input_path, output_dir, config, "segment", workers, show_progress, executor, **filter_options)
