"""Transcription output files: txt, srt, vtt, tsv, json (or all of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmoasr.errors import UsageError
from olmoasr.outputs.writers import JsonWriter, ResultWriter, SrtWriter, TsvWriter, TxtWriter, VttWriter

WRITERS: dict[str, type[ResultWriter]] = {
    "txt": TxtWriter,
    "srt": SrtWriter,
    "vtt": VttWriter,
    "tsv": TsvWriter,
    "json": JsonWriter,
}


def parse_formats(spec: str | list[str]) -> list[str]:
    """'srt,vtt' / 'all' / ['txt', 'json'] -> validated format names, in the order given."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [name.strip().lower().lstrip(".") for name in names if name.strip()]
    if not names:
        raise UsageError(f"no output format given; choose from {', '.join(WRITERS)} or all")
    if "all" in names:
        return list(WRITERS)
    unknown = [name for name in names if name not in WRITERS]
    if unknown:
        raise UsageError(f"unknown output format {unknown[0]!r}; choose from {', '.join(WRITERS)} or all")
    return list(dict.fromkeys(names))


def get_writers(spec: str | list[str]) -> list[ResultWriter]:
    return [WRITERS[name]() for name in parse_formats(spec)]


def write_result(
    result: dict[str, Any], audio_path: str | Path, output_dir: str | Path, formats: str | list[str] = "all"
) -> list[Path]:
    """Write `result` next to each other in `output_dir` as <audio stem>.<ext>; returns the paths."""
    return [writer.write(result, audio_path, output_dir) for writer in get_writers(formats)]


__all__ = [
    "WRITERS",
    "JsonWriter",
    "ResultWriter",
    "SrtWriter",
    "TsvWriter",
    "TxtWriter",
    "VttWriter",
    "get_writers",
    "parse_formats",
    "write_result",
]
