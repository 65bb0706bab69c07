"""One-line problem reports on stderr, safe to call from worker processes."""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def warn(message: str) -> None:
    """Print one line `warning: <message>` to stderr (newlines in the message are flattened)."""
    if _quiet:
        return
    line = "warning: " + " ".join(str(message).split()) + "\n"
    with _lock:
        sys.stderr.write(line)
        sys.stderr.flush()
