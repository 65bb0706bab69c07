"""Splitting one big JSONL shard into line ranges, so a few huge shards still use every core (tag, filter).

Also: the (shard, input, output name) plan of a folder or file of JSONL shards, shared by tag, filter and
tag lang.

A shard of at least `2 * PART_MIN_BYTES` is split only when there are fewer shards than workers. The split
(line bounds) is decided once and saved next to the executor's markers, so a re-run with another worker
count finds the same parts and their markers. Each part writes a hidden part file; when all parts are done
the executor calls `merge_parts`, which joins them in order under the shard's real name (gzip members and
plain lines by concatenation, zstd by re-encoding), then removes the part files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_output, atomic_write_bytes
from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter, iter_jsonl, jsonl_files, open_text_read, strip_jsonl_suffix
from olmoasr.io.storage import AnyPath, as_path, check_output_outside_input, location_str, remove
from olmoasr.pipeline.executor import MARKER_DIR, ShardTask, Stats, marker_path, merge_stats, read_marker

PART_MIN_BYTES = 32 << 20
MAX_PARTS = 64
PARTS_DIR = ".parts"


def plan_shards(input_path: AnyPath, output_dir: AnyPath) -> list[tuple[str, str, str]]:
    """(shard key, input file, output file name relative to output_dir) for every JSONL input."""
    input_path = as_path(input_path)
    if not input_path.exists():
        raise UsageError(f"{input_path}: no such file or directory")
    check_output_outside_input(input_path, as_path(output_dir))
    files = jsonl_files(input_path)
    if not files:
        raise UsageError(f"{input_path}: no JSONL files (.jsonl, .jsonl.gz, .jsonl.zst)")
    shards = []
    single_file = input_path.is_file()
    for path in files:
        rel = path.name if single_file else path.relative_to(input_path).as_posix()
        shards.append((strip_jsonl_suffix(rel), location_str(path), rel))
    return shards


def count_records(path: str | Path) -> int:
    """Non-blank lines (what `iter_jsonl`'s `first`/`stop` index)."""
    with open_text_read(path) as fh:
        return sum(1 for raw in fh if raw.strip())


def _split_file(output_dir: Path, stage: str, shard: str) -> Path:
    return as_path(output_dir) / MARKER_DIR / stage / f"{shard}.split.json"


def plan_record_tasks(
    shards: list[tuple[str, str, str]], output_dir: Path, stage: str, workers: int
) -> list[ShardTask]:
    """Tasks for (shard key, input path, output name) triples; inputs = (path, rel[, first, stop]), where
    first/stop index the shard's non-blank lines."""
    spare = workers > len(shards)
    tasks = []
    for key, path, rel in shards:
        size = float(as_path(path).stat().st_size)
        split_path = _split_file(output_dir, stage, key)
        bounds = None
        if split_path.is_file():
            bounds = orjson.loads(split_path.read_bytes())["bounds"]
        elif spare and size >= 2 * PART_MIN_BYTES and read_marker(marker_path(output_dir, stage, key)) is None:
            parts = min(workers, MAX_PARTS, int(size // PART_MIN_BYTES))
            lines = count_records(path)
            if parts > 1 and lines >= parts:
                bounds = [lines * k // parts for k in range(parts + 1)]
                atomic_write_bytes(split_path, orjson.dumps({"input": path, "bounds": bounds}))
        if bounds is None:
            tasks.append(ShardTask(key, (path, rel), weight=size))
            continue
        parts = len(bounds) - 1
        for k in range(parts):
            inputs = (path, rel, str(bounds[k]), str(bounds[k + 1]))
            tasks.append(ShardTask(key, inputs, part=k, num_parts=parts, weight=size / parts))
    return tasks


def iter_task_records(task: ShardTask, read_stats: JsonlReadStats) -> Iterator[tuple[int, dict[str, Any]]]:
    """The task's records as (line number, record): the whole shard, or only its range of non-blank lines
    (other parts' lines are skipped unparsed)."""
    if task.num_parts == 1:
        return iter_jsonl(task.inputs[0], read_stats)
    return iter_jsonl(task.inputs[0], read_stats, first=int(task.inputs[2]), stop=int(task.inputs[3]))


def part_path(directory: Path, rel: str, part: int) -> Path:
    stem = strip_jsonl_suffix(rel)
    return as_path(directory) / PARTS_DIR / f"{stem}.part-{part:04d}{rel[len(stem) :]}"


def task_output_path(directory: Path, task: ShardTask) -> Path:
    """Where a task writes: the shard's own file, or a hidden part file for a split shard."""
    rel = task.inputs[1]
    return as_path(directory) / rel if task.num_parts == 1 else part_path(directory, rel, task.part)


def merge_part_files(directory: Path, rel: str, num_parts: int) -> None:
    """Join the part files of `rel` in order into `directory/rel` (atomic), then remove them. Idempotent: when
    the parts are gone the merge already happened (the joined file was renamed into place first)."""
    parts = [part_path(directory, rel, k) for k in range(num_parts)]
    final = as_path(directory) / rel
    if not all(p.is_file() for p in parts):
        if final.is_file():
            return
        missing = next(p for p in parts if not p.is_file())
        raise FileNotFoundError(f"{missing}: part output missing; remove the shard's markers and re-run")
    if rel.endswith(".zst"):
        with JsonlWriter(final) as out:
            for part in parts:
                out.write_many(record for _, record in iter_jsonl(part))
    else:  # gzip members and plain lines concatenate into a valid whole
        with atomic_output(final) as tmp, open(tmp, "wb") as joined:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, joined, 1 << 20)
    for part in parts:
        remove(part)


def merged_part_stats(output_dir: Path, stage: str, shard: str, num_parts: int) -> Stats:
    """The sum of the parts' stats (from their markers), counted as one shard."""
    total: Stats = {}
    for k in range(num_parts):
        stats = read_marker(marker_path(output_dir, stage, ShardTask(shard, (), k, num_parts).key))
        if stats is None:
            raise FileNotFoundError(f"{shard} part {k}: no completion marker")
        merge_stats(total, stats)
    total["shards"] = 1
    return total
