"""The built-in sample shard (package data), for tests, the quickstart and demos — no synthesiser needed.

    raw_dir = extract_sample_shard(Path("work"))     # -> work/sample_raw, containing shard_00000/
    olmoasr prep jsonl work/sample_raw -o work/docs

`sample_manifest(raw_dir)` lists every pair with its kind (good, all_caps, repeating, non_english,
mistranscribed, corrupt_audio, empty_transcript), the exact spoken text and the audio duration.
Regenerate the archive with `python scripts/make_sample_data.py sample`.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from importlib import resources
from pathlib import Path

from olmoasr.errors import UsageError
from olmoasr.io.atomic import temporary_sibling

ARCHIVE_NAME = "sample_shard.tar.gz"
RAW_DIR_NAME = "sample_raw"
SHARD_NAME = "shard_00000"
MANIFEST_NAME = "manifest.json"


def sample_shard_archive() -> Path:
    """Path of the packaged `.tar.gz` (inside the installed package)."""
    path = Path(str(resources.files("olmoasr.data").joinpath(ARCHIVE_NAME)))
    if not path.is_file():
        raise UsageError(f"{path}: sample shard archive missing; run `python scripts/make_sample_data.py sample`")
    return path


def _complete(raw_dir: Path) -> bool:
    return (raw_dir / MANIFEST_NAME).is_file() and (raw_dir / SHARD_NAME).is_dir()


def extract_sample_shard(dest: str | os.PathLike[str]) -> Path:
    """Extract the sample shard under `dest` and return the raw dir holding `shard_00000/` and `manifest.json`.

    Idempotent (an existing complete extraction is reused) and atomic (extracted into a temporary
    folder, then renamed), so concurrent test workers never see a half-extracted shard.
    """
    raw_dir = Path(dest) / RAW_DIR_NAME
    if _complete(raw_dir):
        return raw_dir
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(raw_dir)
    try:
        with tarfile.open(sample_shard_archive(), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(tmp, raw_dir)
        except OSError:
            if not _complete(raw_dir):  # not a concurrent extraction that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return raw_dir


def sample_manifest(raw_dir: str | os.PathLike[str] | None = None) -> list[dict]:
    """The pairs of the sample shard (from an extracted raw dir, or straight from the archive)."""
    if raw_dir is not None:
        data = json.loads((Path(raw_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    else:
        with tarfile.open(sample_shard_archive(), mode="r:gz") as tar:
            member = tar.extractfile(MANIFEST_NAME)
            if member is None:
                raise UsageError(f"{sample_shard_archive()}: no {MANIFEST_NAME} inside")
            data = json.loads(member.read().decode("utf-8"))
    return data["pairs"]


def sample_pair_dir(raw_dir: str | os.PathLike[str], pair_id: str) -> Path:
    return Path(raw_dir) / SHARD_NAME / pair_id
