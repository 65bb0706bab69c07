"""Training-mix sampling across ALL input shards (not per file), and what one tag holds (`--stats`).

Every record gets a seeded pseudo-random key from its identity (`seg_id`, else `id`, else file:line), so a
sample depends only on the seed and the records, not on how they are sharded. `--count N` keeps the N
smallest keys; `--hours H` takes records in key order until the next one would pass H (the total is
within one segment's duration of H). Memory holds keys of (about) the selected records only, never
whole records: pass 1 counts records and hours, pass 2 gathers the keys under a threshold, the last pass
streams the chosen records into `mix_00000.jsonl.gz`, ... (`shard_size` each).

Sampling is the one data stage that does not run on the shard executor (no per-shard markers, no Ray):
its passes are global (pass 2's threshold needs every shard's counts, pass 3's output shards mix records
of every input shard), so there are no independent per-shard tasks to skip or resume. The per-file
scans of passes 1 and 2 run in a local process pool; a re-run redoes them (they only read), and the
final shards and `sample_manifest.json` are written atomically, the manifest last. The run writes its
plan first and one completion marker (task `mix`) after the manifest, as every stage does.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import math
import multiprocessing as mp
import random
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_bytes, remove_stale_temporaries
from olmoasr.io.completion import check_complete, marker_path, write_marker, write_plan
from olmoasr.io.jsonl import JsonlReadStats, JsonlWriter, iter_jsonl, jsonl_files
from olmoasr.io.lock import output_lock
from olmoasr.io.storage import as_path, check_output_outside_input, ensure_dir, location_str, remove
from olmoasr.log import warn
from olmoasr.pipeline.executor import resolve_workers
from olmoasr.records.schema import record_duration_s

MANIFEST = "sample_manifest.json"
STAGE = "sample"  # one task, `mix`: the whole draw (a later stage checks its marker, `check_complete`)
SHARD_PATTERN = re.compile(r"^mix_\d{5}\.jsonl(\.gz|\.zst)?$")
PERCENTILES = tuple(range(101))

Candidate = tuple[float, int, int, float]  # (key, file index, line number, seconds)


def record_key(seed: int, record: dict[str, Any], fallback: str) -> float:
    """A uniform [0, 1) key from the seed and the record's identity (stable across re-sharding)."""
    ident = record.get("seg_id") or record.get("id") or fallback
    digest = hashlib.blake2b(f"{seed}\x1f{ident}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


# ------------------------------------------------------------------------------------------- per-file passes


def _count_file(path: str) -> tuple[int, float, int]:
    read_stats = JsonlReadStats()
    records, seconds = 0, 0.0
    for _, record in iter_jsonl(path, read_stats):
        records += 1
        seconds += record_duration_s(record)
    return records, seconds, read_stats.malformed


def _candidates_below(path: str, file_index: int, seed: int, threshold: float) -> list[Candidate]:
    found = []
    for line_no, record in iter_jsonl(path, report=False):
        key = record_key(seed, record, f"{path}:{line_no}")
        if key < threshold:
            found.append((key, file_index, line_no, record_duration_s(record)))
    return found


# Below this much input, starting worker processes costs more than reading the files in this one.
PARALLEL_MIN_BYTES = 64 << 20


class _PassProgress:
    """A rich progress bar (stderr) per pass over the input files; silent when disabled."""

    def __init__(self, enabled: bool):
        self._progress = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from olmoasr.console import stderr_console

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr_console(),
            )

    def __enter__(self) -> _PassProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, label: str, files: int) -> Callable[[], None]:
        if self._progress is None:
            return lambda: None
        task = self._progress.add_task(label, total=files)
        return lambda: self._progress.advance(task)


def _map_files(function, argument_lists: list[tuple], pool: cf.Executor | None, advance: Callable[[], None]) -> list:
    if pool is None or len(argument_lists) <= 1:
        results = (function(*args) for args in argument_lists)
    else:
        results = pool.map(function, *zip(*argument_lists, strict=True))
    collected = []
    for result in results:
        collected.append(result)
        advance()
    return collected


def _file_pool(files: list[str], workers: int) -> cf.ProcessPoolExecutor | None:
    if workers <= 1 or len(files) <= 1 or sum(as_path(f).stat().st_size for f in files) < PARALLEL_MIN_BYTES:
        return None
    return cf.ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=mp.get_context("spawn"))


# ------------------------------------------------------------------------------------------- sample


@dataclass
class SampleResult:
    output_dir: str
    seed: int
    target_hours: float | None
    target_count: int | None
    records: int
    hours: float
    input_records: int
    input_hours: float
    shards: list[str]
    malformed_lines: int = 0
    duplicate_ids: int = 0  # candidates dropped for repeating another record's seg_id/id
    skipped: bool = False


def _select(
    files: list[str],
    seed: int,
    pool: cf.Executor | None,
    bar: _PassProgress,
    hours: float | None = None,
    count: int | None = None,
) -> tuple[list[Candidate], int, float, int, int]:
    """The records with the smallest keys, up to `hours` of audio or `count` records; the last number
    counts candidates dropped because they repeat another record's id (seg_id, else id).

    Pass 1 counts records and seconds; pass 2 keeps only keys under a threshold chosen so that (with a
    margin of many standard deviations) enough candidates pass; if not, the threshold doubles and pass 2
    repeats. Memory: about the selected keys, never all of them.
    """
    counts = _map_files(_count_file, [(f,) for f in files], pool, bar.start("sample: count", len(files)))
    total_records = sum(c[0] for c in counts)
    total_seconds = sum(c[1] for c in counts)
    malformed = sum(c[2] for c in counts)
    if hours is not None:
        target, available, unit = hours * 3600, total_seconds, f"{hours:g} h"
    else:
        target, available, unit = float(count), float(total_records), f"{count} records"
    if target >= available:
        warn(f"asked for {unit} but the inputs hold only {_describe(total_records, total_seconds)}: taking all")
        threshold = 1.0
    else:
        share, n = target / available, max(total_records, 1)
        threshold = min(1.0, share * 1.02 + 8 * math.sqrt(share / n) + 16 / n)
    while True:
        arguments = [(f, i, seed, threshold) for i, f in enumerate(files)]
        found = _map_files(_candidates_below, arguments, pool, bar.start("sample: select", len(files)))
        candidates, duplicates = _first_of_each_key(sorted(c for part in found for c in part))
        enough = len(candidates) >= target if count is not None else sum(c[3] for c in candidates) >= target
        if threshold >= 1.0 or enough:
            break
        threshold = min(1.0, threshold * 2)
    if duplicates:
        warn(f"{duplicates} candidate record(s) repeat the seg_id/id of another record; each id is drawn once")
    if count is not None:
        return candidates[:count], total_records, total_seconds, malformed, duplicates
    chosen, seconds = [], 0.0
    for candidate in candidates:
        if seconds + candidate[3] > target:
            break
        chosen.append(candidate)
        seconds += candidate[3]
    return chosen, total_records, total_seconds, malformed, duplicates


def _first_of_each_key(candidates: list[Candidate]) -> tuple[list[Candidate], int]:
    """A record's key comes from its identity, so records sharing an id sit side by side: keep the first."""
    kept: list[Candidate] = []
    for candidate in candidates:
        if kept and kept[-1][0] == candidate[0]:
            continue
        kept.append(candidate)
    return kept, len(candidates) - len(kept)


def _describe(records: int, seconds: float) -> str:
    return f"{records} records / {seconds / 3600:.3f} h"


def sample_records(
    input_path: str | Path,
    output_dir: str | Path,
    hours: float | None = None,
    count: int | None = None,
    seed: int = 0,
    shard_size: int = 10_000,
    workers: int | None = None,
    compression: str = ".gz",
    show_progress: bool = False,
    allow_partial: bool = False,
) -> SampleResult:
    """Draw a reproducible training mix of `hours` hours (or `count` records) from every input shard. An
    input folder whose upstream run did not finish is refused unless `allow_partial`."""
    if (hours is None) == (count is None):
        raise UsageError("give exactly one of --hours or --count")
    if hours is not None and not hours > 0:
        raise UsageError(f"--hours must be positive, got {hours}")
    if count is not None and count <= 0:
        raise UsageError(f"--count must be positive, got {count}")
    if shard_size <= 0:
        raise UsageError(f"--shard-size must be positive, got {shard_size}")
    if compression not in ("", ".gz", ".zst"):
        raise UsageError(f"compression must be '', '.gz' or '.zst', got {compression!r}")
    input_path, output_dir = as_path(input_path), as_path(output_dir)
    if not input_path.exists():
        raise UsageError(f"{input_path}: no such file or directory")
    check_complete(input_path, allow_partial=allow_partial)
    files = [location_str(p) for p in jsonl_files(input_path)]
    if not files:
        raise UsageError(f"{input_path}: no JSONL files (.jsonl, .jsonl.gz, .jsonl.zst)")
    check_output_outside_input(input_path, output_dir)
    ensure_dir(output_dir)
    with output_lock(output_dir, "sample"):
        remove_stale_temporaries(output_dir)  # shards and manifest a killed run was writing
        return _sample_locked(files, output_dir, hours, count, seed, shard_size, workers, compression, show_progress)


def _sample_locked(
    files: list[str],
    output_dir: Path,
    hours: float | None,
    count: int | None,
    seed: int,
    shard_size: int,
    workers: int | None,
    compression: str,
    show_progress: bool,
) -> SampleResult:
    """The draw itself, run while this process holds the output folder's lock."""
    request = {
        "inputs": files,
        "seed": seed,
        "target_hours": hours,
        "target_count": count,
        "shard_size": shard_size,
        "compression": compression,
    }
    manifest_path = output_dir / MANIFEST
    previous = _read_manifest(manifest_path)
    if previous is not None and previous.get("request") == request:
        result = SampleResult(**previous["result"])
        result.skipped = True
        return result

    pool = _file_pool(files, resolve_workers(workers))
    with _PassProgress(show_progress) as bar:
        try:
            chosen, in_records, in_seconds, malformed, duplicates = _select(
                files, seed, pool, bar, hours=hours, count=count
            )
        finally:
            if pool is not None:
                pool.shutdown()
        ensure_dir(output_dir)
        write_plan(output_dir, STAGE, ["mix"])  # the folder is unfinished until the marker below
        remove(marker_path(output_dir, STAGE, "mix"))
        for stale in output_dir.iterdir() if output_dir.is_dir() else ():
            if SHARD_PATTERN.match(stale.name):
                remove(stale)
        remove(manifest_path)
        shards = _write_selected(files, chosen, output_dir, shard_size, compression, bar)

    result = SampleResult(
        output_dir=location_str(output_dir),
        seed=seed,
        target_hours=hours,
        target_count=count,
        records=len(chosen),
        hours=sum(c[3] for c in chosen) / 3600,
        input_records=in_records,
        input_hours=in_seconds / 3600,
        shards=shards,
        malformed_lines=malformed,
        duplicate_ids=duplicates,
    )
    atomic_write_bytes(
        manifest_path, orjson.dumps({"request": request, "result": asdict(result)}, option=orjson.OPT_INDENT_2)
    )
    write_marker(marker_path(output_dir, STAGE, "mix"), {"records": result.records, "hours": result.hours})
    return result


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_selected(
    files: list[str], chosen: list[Candidate], output_dir: Path, shard_size: int, compression: str, bar: _PassProgress
) -> list[str]:
    """Stream the chosen records (in input order) into fixed-size shards; each shard is renamed into place whole."""
    wanted: dict[int, set[int]] = {}
    for _, file_index, line_no, _ in chosen:
        wanted.setdefault(file_index, set()).add(line_no)
    shards: list[str] = []
    writer: JsonlWriter | None = None
    advance = bar.start("sample: write", len(wanted))
    try:
        for file_index in sorted(wanted):
            lines = wanted[file_index]
            for line_no, record in iter_jsonl(files[file_index], report=False):
                if line_no not in lines:
                    continue
                if writer is None or writer.count >= shard_size:
                    if writer is not None:
                        writer.close()
                    name = f"mix_{len(shards):05d}.jsonl{compression}"
                    shards.append(name)
                    writer = JsonlWriter(output_dir / name)
                writer.write(record)
            advance()
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return shards


# ------------------------------------------------------------------------------------------- tag statistics


@dataclass
class TagStatsResult:
    """What one field holds across the records: percentiles of its numbers, counts of its other values."""

    key: str
    records: int  # records read
    missing: int  # records without the field, or with null
    values: int  # numeric values (percentiles and mean are over these)
    exact: bool  # percentiles from every numeric value, not from a reservoir
    sample_size: int
    percentiles: list[tuple[int, float]]  # (p, value) for p = 0..100; empty without numeric values
    mean: float | None
    counts: dict[str, int]  # strings and booleans (`true` / `false`): records per value, most frequent first
    uncounted: int  # other values: lists, objects, NaN, and strings beyond `cap` distinct ones

    @property
    def non_numeric(self) -> int:
        return sum(self.counts.values()) + self.uncounted


def _categorical(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def tag_stats(
    input_path: str | Path,
    key: str,
    cap: int = 1_000_000,
    seed: int = 0,
) -> TagStatsResult:
    """What a field holds: percentiles 0..100 of its numbers (exact up to `cap` values, beyond that from a
    seeded reservoir) and counts of its strings and booleans (up to `cap` distinct values). A field that no
    record has is a UsageError naming the fields that are there."""
    input_path = as_path(input_path)
    if not input_path.exists():
        raise UsageError(f"{input_path}: no such file or directory")
    files = jsonl_files(input_path)
    if not files:
        raise UsageError(f"{input_path}: no JSONL files (.jsonl, .jsonl.gz, .jsonl.zst)")
    if cap <= 0:
        raise UsageError(f"--cap must be positive, got {cap}")
    rng = random.Random(seed)
    reservoir: list[float] = []
    counts: dict[str, int] = {}
    fields: set[str] = set()
    records = present = nulls = seen = uncounted = 0
    total = 0.0
    for path in files:
        for _, record in iter_jsonl(path):
            records += 1
            if key not in record:
                if not present:
                    fields.update(record)
                continue
            present += 1
            value = record[key]
            if value is None:
                nulls += 1
                continue
            category = _categorical(value)
            if category is not None:
                if category in counts or len(counts) < cap:
                    counts[category] = counts.get(category, 0) + 1
                else:
                    uncounted += 1
                continue
            if not isinstance(value, int | float) or math.isnan(value):
                uncounted += 1
                continue
            seen += 1
            total += value
            if len(reservoir) < cap:
                reservoir.append(float(value))
            else:
                slot = rng.randrange(seen)
                if slot < cap:
                    reservoir[slot] = float(value)
    if not present:
        known = ", ".join(sorted(fields)[:40]) or "none"
        raise UsageError(f"{input_path}: no record has a field `{key}` (fields there: {known})")
    reservoir.sort()
    n = len(reservoir)
    table = [(p, reservoir[round(p / 100 * (n - 1))]) for p in PERCENTILES] if n else []
    ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    mean = total / seen if seen else None
    missing = records - present + nulls
    return TagStatsResult(key, records, missing, seen, seen <= cap, n, table, mean, ordered, uncounted)
