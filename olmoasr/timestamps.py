"""Caption time strings <-> integer milliseconds.

The original records store times as strings: `HH:MM:SS,mmm` (segment ranges, SRT) and `HH:MM:SS.mmm`
(VTT, `norm_end`). Everything inside olmoasr computes in integer milliseconds (no wrap-around on
negative arithmetic, no datetime parsing in hot loops) and formats only when writing records.
"""

from __future__ import annotations

import re

# The canonical form (every cue of every transcript): parsed without the general path's splitting.
_CANONICAL_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[.,](\d\d\d)")


def parse_time_ms(text: str) -> int:
    """`HH:MM:SS.mmm`, `HH:MM:SS,mmm`, `MM:SS.mmm` or `SS.mmm` -> milliseconds. Raises ValueError."""
    canonical = _CANONICAL_TIME.fullmatch(text)
    if canonical is not None:
        hours, minutes, seconds, millis = canonical.groups()
        return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)
    text = text.strip()
    if not text:
        raise ValueError("empty time")
    main, sep, frac = text.replace(",", ".").partition(".")
    parts = main.split(":")
    if len(parts) > 3 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"bad time {text!r}")
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    millis = 0
    if sep:
        frac = frac.strip()
        if not frac.isdigit():
            raise ValueError(f"bad time {text!r}")
        millis = int((frac + "000")[:3])
    return seconds * 1000 + millis


def format_time_ms(ms: int, sep: str = ".") -> str:
    """Milliseconds -> `HH:MM:SS<sep>mmm` (sep `.` for VTT, `,` for SRT and segment ranges)."""
    if ms < 0:
        raise ValueError(f"negative time {ms} ms")
    hours, rem = divmod(int(ms), 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    seconds, millis = divmod(rem, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def format_range_ms(start_ms: int, end_ms: int) -> str:
    """The original's segment range string: `HH:MM:SS,mmm_HH:MM:SS,mmm`."""
    return f"{format_time_ms(start_ms, ',')}_{format_time_ms(end_ms, ',')}"


def parse_range_ms(text: str) -> tuple[int, int]:
    """`HH:MM:SS,mmm_HH:MM:SS,mmm` -> (start_ms, end_ms)."""
    start, sep, end = text.partition("_")
    if not sep:
        raise ValueError(f"bad time range {text!r}")
    return parse_time_ms(start), parse_time_ms(end)


def norm_end_to_ms(value: int | float | str | None) -> int | None:
    """The original's `norm_end` is an int of ms (30000 for no-speech) or a relative `HH:MM:SS.mmm`."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"bad norm_end {value!r}")
    if isinstance(value, int | float):
        return int(value)
    return parse_time_ms(value)


def seconds_to_ms(seconds: float) -> int:
    """Float seconds (a decoder's timestamps) -> integer milliseconds, never negative."""
    return max(0, round(seconds * 1000))


def format_seconds(seconds: float, decimal_marker: str = ".") -> str:
    """12.3456 -> '00:00:12.346' (',' as the marker for SRT)."""
    return format_time_ms(seconds_to_ms(seconds), decimal_marker)
