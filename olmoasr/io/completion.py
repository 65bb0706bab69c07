"""Completion markers: how a stage says which of its outputs are whole, and how the next stage checks.

Before any work a stage writes `<output>/.olmoasr/<stage>/plan.json`, the shards it is about to make;
after each shard's outputs are renamed into place it writes `<shard>.done.json` (its stats) beside it.
An output folder is complete when every planned shard of every stage in it has its marker. A stage
reading a folder that is not complete (a killed or failed run upstream, or one still writing) refuses it
with one line, or, told `allow_partial`, warns and reads the shards that are there. A folder without
`.olmoasr/` was made by another tool and has nothing to check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.storage import AnyPath, as_path, is_remote, remote_files
from olmoasr.log import warn

Stats = dict[str, float]

MARKER_DIR = ".olmoasr"
MARKER_SUFFIX = ".done.json"
PLAN_FILE = "plan.json"
_NAMED = 5  # unfinished shards named in the message; the rest are counted


def marker_path(output_dir: AnyPath, stage: str, task_key: str) -> AnyPath:
    """Local `Path` or object-storage `UPath`, like the output directory."""
    return as_path(output_dir) / MARKER_DIR / stage / f"{task_key}{MARKER_SUFFIX}"


def read_marker(path: AnyPath) -> Stats | None:
    try:
        return orjson.loads(path.read_bytes())["stats"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_marker(path: AnyPath, stats: Stats) -> None:
    atomic_write_bytes(path, orjson.dumps({"stats": stats, "finished": time.time()}))


def write_plan(output_dir: AnyPath, stage: str, shards: Iterable[str]) -> None:
    """Record the shards a stage run is about to make (sorted: a re-run writes the same bytes)."""
    path = as_path(output_dir) / MARKER_DIR / stage / PLAN_FILE
    atomic_write_bytes(path, orjson.dumps({"stage": stage, "shards": sorted(set(shards))}))


def unfinished_shards(folder: AnyPath) -> dict[str, tuple[int, list[str]]]:
    """stage -> (shards planned, planned shards without a completion marker), for the stages in `folder`
    whose plan is not done; empty when the folder is complete or has no plans."""
    root = as_path(folder) / MARKER_DIR
    unfinished: dict[str, tuple[int, list[str]]] = {}
    for plan_path in _plans(root):
        try:
            planned = orjson.loads(plan_path.read_bytes())["shards"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable plan is no evidence either way
        done = _done_keys(plan_path.parent)
        missing = [shard for shard in planned if shard not in done]
        if missing:
            unfinished[plan_path.parent.name] = (len(planned), missing)
    return unfinished


def check_complete(input_path: str | os.PathLike[str] | AnyPath, *, allow_partial: bool = False) -> None:
    """Refuse (`UsageError`) an input folder whose upstream run did not finish; warn instead when
    `allow_partial`. A single file is the shard the user chose: nothing to check."""
    root = as_path(input_path)
    if not root.is_dir():
        return
    unfinished = unfinished_shards(root)
    if not unfinished:
        return
    parts = []
    for stage, (planned, missing) in sorted(unfinished.items()):
        named = ", ".join(missing[:_NAMED]) + (f" and {len(missing) - _NAMED} more" if len(missing) > _NAMED else "")
        parts.append(f"{len(missing)} of {planned} shard(s) of `{stage}` unfinished ({named})")
    problem = f"{root}: {'; '.join(parts)} (its run stopped, failed or is still writing)"
    if allow_partial:
        warn(f"{problem}; reading only the finished shards (--allow-partial)")
        return
    raise UsageError(f"{problem}; finish that run (re-running it resumes), or pass --allow-partial to use the rest")


def _plans(root: AnyPath) -> list[AnyPath]:
    if is_remote(root):
        return [path for rel, path in remote_files(root) if rel.count("/") == 1 and rel.endswith(f"/{PLAN_FILE}")]
    return sorted(root.glob(f"*/{PLAN_FILE}")) if root.is_dir() else []


def _done_keys(stage_dir: AnyPath) -> set[str]:
    if is_remote(stage_dir):
        found = (rel for rel, _ in remote_files(stage_dir))
    else:
        found = (path.relative_to(stage_dir).as_posix() for path in stage_dir.rglob(f"*{MARKER_SUFFIX}"))
    return {rel[: -len(MARKER_SUFFIX)] for rel in found if rel.endswith(MARKER_SUFFIX)}
