"""Write-to-temporary-then-rename, so a killed job never leaves a half-written file under a final name.

On object storage (a `UPath`), which has no rename, the temporary file is local and is uploaded whole
when complete: an object appears complete or not at all (`olmoasr.io.storage`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from olmoasr.io.storage import AnyPath, as_path, is_remote, local_staging


def temporary_sibling(path: Path) -> Path:
    """A unique temporary name in the same directory (same filesystem, so the rename is atomic)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str] | AnyPath) -> Iterator[Path]:
    """Yield a temporary path; on success fsync and rename it to `path`, on error remove it."""
    final = as_path(path)
    if is_remote(final):
        with local_staging(final) as tmp:
            yield tmp
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str] | AnyPath, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str] | AnyPath, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> int:
    """Delete leftovers of killed writers (`.<name>.tmp-*`). Returns how many were removed."""
    root = as_path(directory)
    if is_remote(root):
        return 0  # object stores never show a partial upload
    removed = 0
    if not root.is_dir():
        return 0
    for tmp in root.rglob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed += 1
    return removed


def remove_temporaries_of(directory: str | os.PathLike[str], pid: int) -> int:
    """Delete the temporaries process `pid` left under `directory` (a failed task's partial outputs), so a
    full disk gets its space back at once instead of at the next run. Returns how many were removed."""
    root = as_path(directory)
    if is_remote(root) or not root.is_dir():
        return 0
    removed = 0
    for tmp in root.rglob(f".*.tmp-{pid}-*"):
        with contextlib.suppress(OSError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed += 1
    return removed
