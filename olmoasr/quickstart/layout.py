"""The quickstart folder: numbered stage sub-folders, per-stage completion markers, folder and disk checks.

qs/
  .quickstart/state.json            marks the folder as a quickstart folder
  .quickstart/<stage>.done.json     written LAST when a stage finished: its command key and timing
  configs/                          the train config (and the filter config when audio LID is skipped)
  00_sample/ 01_docs/ ... 12_transcribe/   one folder per stage (STAGE_DIRS)
  summary.json                      what `run_quickstart` returns, as JSON
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import OlmoasrError
from olmoasr.io.atomic import atomic_write_bytes

STATE_DIR = ".quickstart"
CONFIG_DIR = "configs"
SUMMARY_FILE = "summary.json"
FORMAT_VERSION = 1

# stage name -> its output folder (also the order the stages run in)
STAGE_DIRS: dict[str, str] = {
    "sample": "00_sample",
    "prep_jsonl": "01_docs",
    "tag_doc": "02_tagged_docs",
    "prep_segment": "03_segments",
    "tag_seg": "04_tagged_segments",
    "tag_lang": "05_lang",
    "filter": "06_filtered",
    "sample_mix": "07_mix",
    "heldout": "08_heldout",
    "eval_before": "09_eval_before",
    "train": "10_train",
    "eval_after": "11_eval_after",
    "transcribe": "12_transcribe",
}
REJECTS_DIR = "06_rejected"  # `filter --rejects`: must sit apart from the filter's output folder
EXTRA_DIRS = {"filter": [REJECTS_DIR]}

# Free space asked for before starting: segments + checkpoints (tiny.en fine-tuning keeps model + AdamW
# state, ~450 MB, plus a 150 MB export); the micro model needs little.
NEEDED_MB = {"finetune": 900, "micro": 150}


class QuickstartError(OlmoasrError):
    """A quickstart problem the user can fix; printed as one line."""


def check_folder(folder: Path) -> None:
    """Create `folder` (or accept an existing quickstart / empty folder) and prove it is writable."""
    if folder.exists() and not folder.is_dir():
        raise QuickstartError(f"{folder}: exists and is not a folder; give a new or empty folder for the quickstart")
    if folder.is_dir() and not (folder / STATE_DIR).is_dir() and any(folder.iterdir()):
        raise QuickstartError(
            f"{folder}: folder is not empty and is not a quickstart folder; give a new or empty folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / STATE_DIR / f".write-test-{os.getpid()}"
        probe.parent.mkdir(exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise QuickstartError(f"{folder}: cannot write there ({describe_os_error(err)})") from None
    state = folder / STATE_DIR / "state.json"
    if not state.is_file():
        atomic_write_bytes(state, orjson.dumps({"format": FORMAT_VERSION, "created": time.time()}))


def describe_os_error(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "the disk is full"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied" if err.errno != errno.EROFS else "read-only file system"
    return err.strerror or type(err).__name__


def check_free_space(folder: Path, mode: str) -> None:
    needed = NEEDED_MB[mode]
    free_mb = shutil.disk_usage(folder).free / 1e6
    if free_mb < needed:
        raise QuickstartError(
            f"{folder}: only {free_mb:.0f} MB free on this disk; the quickstart needs about {needed} MB "
            "(free some space or choose a folder on another disk)"
        )


def disk_is_full(folder: Path, margin_mb: float = 16) -> bool:
    try:
        return shutil.disk_usage(folder).free < margin_mb * 1e6
    except OSError:
        return False


# --------------------------------------------------------------------------------- stage markers


def marker_path(folder: Path, stage: str) -> Path:
    return folder / STATE_DIR / f"{STAGE_DIRS[stage]}.done.json"


def read_marker(folder: Path, stage: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(marker_path(folder, stage).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(folder: Path, stage: str, key: list[str], seconds: float, info: dict[str, Any]) -> None:
    payload = {"key": key, "seconds": seconds, "finished": time.time(), "info": info}
    atomic_write_bytes(marker_path(folder, stage), orjson.dumps(payload, option=orjson.OPT_INDENT_2))


def stage_paths(folder: Path, stage: str) -> list[Path]:
    return [folder / STAGE_DIRS[stage], *(folder / name for name in EXTRA_DIRS.get(stage, []))]


def clear_stage(folder: Path, stage: str) -> None:
    """Forget a stage: its marker first (so a crash in between never leaves a marker without outputs)."""
    marker_path(folder, stage).unlink(missing_ok=True)
    for path in stage_paths(folder, stage):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def clear_all(folder: Path) -> None:
    """`--force`: remove everything the quickstart wrote (and nothing else) in `folder`."""
    for stage in reversed(list(STAGE_DIRS)):
        clear_stage(folder, stage)
    for name in (CONFIG_DIR, SUMMARY_FILE):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
