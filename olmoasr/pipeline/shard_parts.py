"""Splitting one shard into parts and joining the parts again: the one implementation every stage uses.

A shard's items (non-blank JSONL lines, or raw pairs) are split into contiguous ranges of equal size
(`split_ranges`), so the parts of a shard finish together. Who decides how many parts:
- prep stages split every shard into parts of a fixed number of items (`pairs_per_part`, `docs_per_part`):
  one item costs an audio probe or decode, so even a few shards keep every core busy;
- record stages (tag, filter, tag lang's writers) split only a big shard, only when there are fewer shards
  than workers (`plan_record_tasks`): a record costs microseconds, and splitting means counting lines.
  Their split (line bounds) is saved beside the executor's markers, so a re-run with another worker count
  finds the same parts and their markers.

Each part writes its outputs under `<dir>/.olmoasr/parts/<stage>/` (hidden: later stages never read it).
When every part is done, the executor calls the stage's `merge_parts`, which joins the part files in
order under the shard's real name (`merge_part_files`: gzip members and plain lines by concatenation,
zstd by re-encoding) and removes them; the merged shard's stats are the sum of its parts' markers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_output, atomic_write_bytes
from olmoasr.io.completion import MARKER_DIR, check_complete, marker_path, read_marker
from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter, iter_jsonl, jsonl_files, open_text_read, strip_jsonl_suffix
from olmoasr.io.storage import AnyPath, as_path, check_output_outside_input, location_str, remove
from olmoasr.pipeline.executor import ShardTask, Stats, merge_stats

PART_MIN_BYTES = 32 << 20
MAX_PARTS = 64
PARTS_DIR = f"{MARKER_DIR}/parts"


# ------------------------------------------------------------------------------------------- planning


def split_ranges(n_items: int, per_part: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges of at most `per_part` items, equal sizes (so parts finish together)."""
    if n_items <= per_part:
        return [(0, n_items)]
    n_parts = -(-n_items // per_part)
    bounds = [round(k * n_items / n_parts) for k in range(n_parts + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def count_records(path: AnyPath) -> int:
    """Non-blank lines: records plus malformed lines (what `iter_jsonl`'s `first`/`stop` index)."""
    with open_text_read(path) as fh:
        return sum(1 for raw in fh if raw.strip())


def plan_shards(input_path: AnyPath, output_dir: AnyPath, allow_partial: bool = False) -> list[tuple[str, str, str]]:
    """(shard key, input file, output file name relative to output_dir) for every JSONL input. An input
    folder whose upstream run did not finish is refused unless `allow_partial` (`check_complete`)."""
    input_path = as_path(input_path)
    if not input_path.exists():
        raise UsageError(f"{input_path}: no such file or directory")
    check_complete(input_path, allow_partial=allow_partial)
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


def _split_file(output_dir: AnyPath, stage: str, shard: str) -> Path:
    return as_path(output_dir) / MARKER_DIR / stage / f"{shard}.split.json"


def plan_record_tasks(
    shards: list[tuple[str, str, str]], output_dir: AnyPath, stage: str, workers: int
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
                ranges = split_ranges(lines, -(-lines // parts))
                bounds = [lo for lo, _ in ranges] + [ranges[-1][1]]
                atomic_write_bytes(split_path, orjson.dumps({"input": path, "bounds": bounds}))
        if bounds is None:
            tasks.append(ShardTask(key, (path, rel), weight=size))
            continue
        parts = len(bounds) - 1
        for k in range(parts):
            inputs = (path, rel, str(bounds[k]), str(bounds[k + 1]))
            tasks.append(ShardTask(key, inputs, part=k, num_parts=parts, weight=size / parts))
    return tasks


def iter_task_records(
    task: ShardTask, read_stats: JsonlReadStats, report: bool = True
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The task's records as (line number, record): the whole shard, or only its range of non-blank lines
    (other parts' lines are skipped unparsed)."""
    if task.num_parts == 1:
        return iter_jsonl(task.inputs[0], read_stats, report=report)
    return iter_jsonl(task.inputs[0], read_stats, first=int(task.inputs[2]), stop=int(task.inputs[3]), report=report)


# ------------------------------------------------------------------------------------------- part files


def part_path(directory: AnyPath, stage: str, rel: str, part: int, suffix: str | None = None) -> Path:
    """Where part `part` of the output `rel` (a name relative to `directory`, ending in `suffix`; by
    default its JSONL suffix) is written: `.olmoasr/parts/<stage>/<rel without suffix>.part-NNNN<suffix>`."""
    stem = strip_jsonl_suffix(rel) if suffix is None else rel.removesuffix(suffix)
    return as_path(directory) / PARTS_DIR / stage / f"{stem}.part-{part:04d}{rel[len(stem) :]}"


def task_output_path(directory: AnyPath, stage: str, task: ShardTask, rel: str, suffix: str | None = None) -> Path:
    """Where a task writes the output `rel`: the shard's own file, or a hidden part file of a split shard."""
    if task.num_parts == 1:
        return as_path(directory) / rel
    return part_path(directory, stage, rel, task.part, suffix)


def join_files(parts: list[Path], final: Path, skip_header: bool = False) -> None:
    """Concatenate `parts` in order into `final` (atomic). gzip members and plain lines concatenate into a
    valid whole; zstd JSONL is re-encoded; with `skip_header`, the first line of every part but the first
    is dropped (TSV headers)."""
    if final.name.endswith(".zst"):
        with JsonlWriter(final) as out:
            for part in parts:
                out.write_many(record for _, record in iter_jsonl(part))
        return
    with atomic_output(final) as tmp, open(tmp, "wb") as joined:
        for n, part in enumerate(parts):
            with part.open("rb") as fh:
                if skip_header and n > 0:
                    fh.readline()
                shutil.copyfileobj(fh, joined, 1 << 20)


def merge_part_files(directory: AnyPath, stage: str, rel: str, num_parts: int, suffix: str | None = None) -> None:
    """Join the part files of `rel` in order into `directory/rel`, then remove them. Idempotent: when the
    parts are gone the merge already happened (the joined file was renamed into place first)."""
    parts = [part_path(directory, stage, rel, k, suffix) for k in range(num_parts)]
    final = as_path(directory) / rel
    if not all(p.is_file() for p in parts):
        if final.is_file():
            return
        missing = next(p for p in parts if not p.is_file())
        raise FileNotFoundError(f"{missing}: part output missing; remove the shard's markers and re-run")
    join_files(parts, final)
    for part in parts:
        remove(part)


def merged_part_stats(output_dir: AnyPath, stage: str, shard: str, num_parts: int) -> Stats:
    """The sum of the parts' stats (from their markers), a split shard counted as one shard."""
    total: Stats = {}
    for k in range(num_parts):
        stats = read_marker(marker_path(output_dir, stage, ShardTask(shard, (), k, num_parts).key))
        if stats is None:
            raise FileNotFoundError(f"{shard} part {k}: no completion marker")
        merge_stats(total, stats)
    if "shards" in total:
        total["shards"] = 1
    return total
