"""One-line problem reports on stderr, safe to call from worker processes."""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


def warn(message: str) -> None:
    """Print one line `warning: <message>` to stderr (newlines in the message are flattened): something the
    user should act on or know went differently than asked."""
    _line("warning: ", message)


def report_failure(message: str) -> None:
    """Print one line `failed: <message>` to stderr: a task that did not finish (never hidden by --quiet)."""
    _line("failed: ", message)


def note(message: str) -> None:
    """Print one routine status line to stderr, unlabelled (what is being done, how it goes)."""
    _line("", message)


def _line(label: str, message: str) -> None:
    line = label + " ".join(str(message).split()) + "\n"
    with _lock:
        sys.stderr.write(line)
        sys.stderr.flush()
