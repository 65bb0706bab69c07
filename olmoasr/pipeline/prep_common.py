"""Pieces shared by the two prep stages: where a task's outputs go, rejects files, merging split shards.

Outputs of one shard `S` in a stage's output directory:
- `S.jsonl.gz`: the records (documents or segments),
- `S.rejects.tsv`: one line per rejected input (`id`, `path`, `reason`, `message`), only when non-empty,
- `S.stats.json`: the shard's additive counts.
A shard split into parts writes each part under `.olmoasr/parts/<stage>/` (hidden: later stages never
read it) and `merge_parts` concatenates them in part order (gzip members concatenate byte-wise).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson

from olmoasr.io.atomic import atomic_output, atomic_write_bytes
from olmoasr.io.storage import remove
from olmoasr.pipeline.executor import MARKER_DIR, ShardTask, Stats, marker_path, merge_stats, read_marker

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


def parts_dir(output_dir: Path, stage: str) -> Path:
    return output_dir / MARKER_DIR / "parts" / stage


def task_outputs(output_dir: Path, stage: str, task: ShardTask) -> TaskOutputs:
    if task.num_parts == 1:
        return shard_outputs(output_dir, task.shard)
    return shard_outputs(parts_dir(output_dir, stage), task.key)


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


def split_ranges(n_items: int, per_part: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges of about `per_part` items, equal sizes (so parts finish together)."""
    if n_items <= per_part:
        return [(0, n_items)]
    n_parts = -(-n_items // per_part)
    bounds = [round(k * n_items / n_parts) for k in range(n_parts + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def merge_part_outputs(output_dir: Path, stage: str, shard: str, num_parts: int) -> Stats:
    """Concatenate the parts of `shard` into its final outputs; idempotent (a crash mid-merge is redone).

    Stats come from the part markers, so a merge re-run after the part files were removed still reports.
    """
    final = shard_outputs(output_dir, shard)
    parts = [task_outputs(output_dir, stage, ShardTask(shard, (), k, num_parts)) for k in range(num_parts)]
    stats: Stats = {}
    for k in range(num_parts):
        part_stats = read_marker(marker_path(output_dir, stage, ShardTask(shard, (), k, num_parts).key))
        merge_stats(stats, part_stats or {})
    if all(p.records.exists() for p in parts):
        with atomic_output(final.records) as tmp, open(tmp, "wb") as out:
            for part in parts:
                with part.records.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        rejects = [p.rejects for p in parts if p.rejects.exists()]
        if rejects:
            with atomic_output(final.rejects) as tmp, open(tmp, "wb") as out:
                out.write(REJECTS_HEADER.encode())
                for path in rejects:
                    with path.open("rb") as fh:
                        fh.readline()
                        shutil.copyfileobj(fh, out)
        else:
            remove(final.rejects)
        write_stats(final.stats, stats)
        for part in parts:
            for path in (part.records, part.rejects, part.stats):
                remove(path)
    elif not final.records.exists():
        raise RuntimeError(f"{shard}: part outputs missing and no merged output; delete its markers and re-run")
    return stats
