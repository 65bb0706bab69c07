"""Cut many (possibly overlapping) windows out of one decoded audio stream, in a single pass.

The source is decoded once (`olmoasr.audio.iter_pcm16`); windows are handed out, in order, as soon as the
stream has passed their end. Only the samples from the earliest pending window's start onward are kept,
so memory is bounded by the longest window plus one decoded chunk (about 30 s of int16 audio), whatever
the length of the file. Windows must be sorted by start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np


def iter_windows(
    chunks: Iterable[np.ndarray],
    windows: Sequence[tuple[int, int]],
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(window index, int16 samples)` for each `(first, last)` sample range, in window order.

    Chunks are the one loader's int16 samples (`iter_pcm16`), cut as they are. A window reaching beyond
    the end of the stream gets what exists (maybe nothing).
    Stops reading the stream once every window is out.
    """
    if not windows:
        return
    if any(b[0] < a[0] for a, b in zip(windows, windows[1:], strict=False)):
        raise ValueError("windows must be sorted by start")
    buffer = np.zeros(0, dtype=np.int16)
    buffer_start = windows[0][0]  # absolute sample index of buffer[0]
    pending: list[np.ndarray] = []
    pending_len = 0
    decoded = 0  # absolute samples seen so far
    nxt = 0

    def flush() -> None:
        nonlocal buffer, pending, pending_len
        if pending:
            buffer = np.concatenate([buffer, *pending]) if len(buffer) else np.concatenate(pending)
            pending = []
            pending_len = 0

    for chunk in chunks:
        start_abs = decoded
        decoded += len(chunk)
        keep_from = windows[nxt][0]
        if decoded <= keep_from:
            continue  # entirely before every pending window
        lo = max(0, keep_from - start_abs)
        part = chunk[lo:]
        if not len(buffer) and not pending:
            buffer_start = start_abs + lo
        pending.append(part)
        pending_len += len(part)
        while nxt < len(windows) and windows[nxt][1] <= decoded:
            flush()
            first, last = windows[nxt]
            yield nxt, buffer[first - buffer_start : last - buffer_start].copy()
            nxt += 1
            if nxt == len(windows):
                return
            drop = windows[nxt][0] - buffer_start
            if drop > 0:
                buffer = buffer[drop:]
                buffer_start += drop
    flush()
    while nxt < len(windows):
        first, last = windows[nxt]
        lo = max(0, first - buffer_start)
        hi = max(lo, min(len(buffer), last - buffer_start))
        yield nxt, buffer[lo:hi].copy()
        nxt += 1
