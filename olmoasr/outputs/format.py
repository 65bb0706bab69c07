"""Time formatting shared by the subtitle writers and verbose transcription output."""

from __future__ import annotations

from olmoasr.timestamps import format_time_ms


def seconds_to_ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def format_seconds(seconds: float, decimal_marker: str = ".") -> str:
    """12.3456 -> '00:00:12.346' (',' as the marker for SRT)."""
    return format_time_ms(seconds_to_ms(seconds), decimal_marker)
