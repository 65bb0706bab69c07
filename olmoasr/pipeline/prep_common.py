"""Pieces shared by the two prep stages: where a task's outputs go, rejects files, merging split shards.

Outputs of one shard `S` in a stage's output directory:
- `S.jsonl.gz`: the records (documents or segments),
- `S.rejects.tsv`: one line per rejected input (`id`, `path`, `reason`, `message`), only when non-empty,
- `S.stats.json`: the shard's additive counts.
A shard split into parts (`shard_parts.py`) writes each part's three files under
`.olmoasr/parts/<stage>/`, and `merge_part_outputs` joins them in part order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.storage import remove
from olmoasr.pipeline.executor import ShardTask, Stats
from olmoasr.pipeline.shard_parts import join_files, merge_part_files, merged_part_stats, part_path

RECORDS_SUFFIX = ".jsonl.gz"
REJECTS_SUFFIX = ".rejects.tsv"
STATS_SUFFIX = ".stats.json"
REJECTS_HEADER = "id\tpath\treason\tmessage\n"


@dataclass(frozen=True)
class TaskOutputs:
    """File names of one task's outputs (a whole shard, or one part of it)."""

    records: Path
    rejects: Path
    stats: Path


def shard_outputs(output_dir: Path, shard: str) -> TaskOutputs:
    return TaskOutputs(
        output_dir / f"{shard}{RECORDS_SUFFIX}",
        output_dir / f"{shard}{REJECTS_SUFFIX}",
        output_dir / f"{shard}{STATS_SUFFIX}",
    )


def task_outputs(output_dir: Path, stage: str, task: ShardTask) -> TaskOutputs:
    """The files a task writes: the shard's own, or its part's (hidden) for a split shard."""
    if task.num_parts == 1:
        return shard_outputs(output_dir, task.shard)
    records, rejects, stats = (
        part_path(output_dir, stage, f"{task.shard}{suffix}", task.part, suffix)
        for suffix in (RECORDS_SUFFIX, REJECTS_SUFFIX, STATS_SUFFIX)
    )
    return TaskOutputs(records, rejects, stats)


def _tsv_field(value: object) -> str:
    return " ".join(str(value).replace("\t", " ").split())


class Rejects:
    """Collects one task's rejected inputs; `write` puts them in the rejects file (or removes a stale one)."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.counts: dict[str, int] = {}

    def add(self, item_id: str, path: str, reason: str, message: str) -> None:
        self.rows.append("\t".join(_tsv_field(v) for v in (item_id, path, reason, message)) + "\n")
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def write(self, path: Path) -> None:
        if not self.rows:
            remove(path)
            return
        atomic_write_bytes(path, (REJECTS_HEADER + "".join(self.rows)).encode("utf-8"))

    def stats(self) -> Stats:
        return {f"rejects.{reason}": n for reason, n in self.counts.items()}


def write_stats(path: Path, stats: Stats) -> None:
    atomic_write_bytes(path, orjson.dumps(dict(sorted(stats.items())), option=orjson.OPT_INDENT_2))


def merge_part_outputs(output_dir: Path, stage: str, shard: str, num_parts: int) -> Stats:
    """Join the parts of `shard` into its final outputs; idempotent (a crash mid-merge is redone).

    Stats come from the part markers, so a merge re-run after the part files were removed still reports.
    Rejects files exist only for parts that rejected something; they are joined with one header.
    """
    final = shard_outputs(output_dir, shard)
    parts = [task_outputs(output_dir, stage, ShardTask(shard, (), k, num_parts)) for k in range(num_parts)]
    stats = merged_part_stats(output_dir, stage, shard, num_parts)
    if all(p.records.exists() for p in parts):
        rejects = [p.rejects for p in parts if p.rejects.exists()]
        if rejects:
            join_files(rejects, final.rejects, skip_header=True)
        else:
            remove(final.rejects)
        write_stats(final.stats, stats)
        for part in parts:
            remove(part.rejects)
            remove(part.stats)
    merge_part_files(output_dir, stage, f"{shard}{RECORDS_SUFFIX}", num_parts, RECORDS_SUFFIX)
    return stats
