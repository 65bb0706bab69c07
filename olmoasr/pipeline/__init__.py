"""Data stages: prep (jsonl, segment), tagging, filtering, sampling — each usable from Python and the CLI."""

from olmoasr.pipeline.prep_jsonl import prep_jsonl
from olmoasr.pipeline.prep_segment import prep_segment

__all__ = ["prep_jsonl", "prep_segment"]
