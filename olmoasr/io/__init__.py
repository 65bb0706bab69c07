"""File I/O shared by every stage: atomic writes and streaming JSONL."""

from olmoasr.io.atomic import atomic_output, atomic_write_bytes, atomic_write_text
from olmoasr.io.jsonl import (
    JsonlReadStats,
    JsonlWriter,
    iter_jsonl,
    jsonl_files,
    open_text_read,
    strip_jsonl_suffix,
)

__all__ = [
    "JsonlReadStats",
    "JsonlWriter",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "iter_jsonl",
    "jsonl_files",
    "open_text_read",
    "strip_jsonl_suffix",
]
