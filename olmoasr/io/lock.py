"""One run at a time per output folder.

Two runs writing one folder at once would delete each other's temporary files and interleave shards.
`output_lock` takes an exclusive `flock` on `<folder>/.olmoasr/lock` for the length of a run; the kernel
drops it when the process exits however it exits (SIGKILL included), so a killed run never leaves a
stale lock behind. A second run fails at once with one line naming the folder and the run holding it.
Object-storage folders are not locked (there is no shared lock to take); local folders on network file
systems are only as exclusive as their `flock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator

from olmoasr.errors import UsageError
from olmoasr.io.storage import AnyPath, as_path, is_remote

LOCK_FILE = ".olmoasr/lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096) or b"{}")
        return f"another run ({info['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another olmoasr run"


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str] | AnyPath, command: str) -> Iterator[None]:
    """Hold the folder's lock while the block runs; `UsageError` at once if another run holds it."""
    root = as_path(folder)
    if is_remote(root):
        yield
        return
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"{root}: {_holder(fd)} is writing to this folder; wait for it to finish or choose another output"
            ) from None
        # What runs here, for a second run's message; no pid or time, so re-runs leave identical bytes.
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"command": command}).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
