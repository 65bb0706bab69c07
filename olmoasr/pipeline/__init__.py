"""Data stages: prep (jsonl, segment), tagging, filtering, sampling — each usable from Python and the CLI.

Names load lazily (tagging and language ID are imported on first use), except the two prep functions:
they share their modules' names, and a lazily looked-up name loses to a submodule once that is imported.
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports
from olmoasr.pipeline.prep_jsonl import prep_jsonl as prep_jsonl
from olmoasr.pipeline.prep_segment import prep_segment as prep_segment

_EXPORTS = {
    "load_filter_config": "olmoasr.pipeline.filter_config",
    "apply_filters": "olmoasr.pipeline.filtering",
    "filter_records": "olmoasr.pipeline.filtering",
    "LangIdOptions": "olmoasr.pipeline.lang_id",
    "tag_audio_language": "olmoasr.pipeline.lang_id",
    "sample_records": "olmoasr.pipeline.sampling",
    "tag_stats": "olmoasr.pipeline.sampling",
    "load_tagging_config": "olmoasr.pipeline.tagging",
    "tag_documents": "olmoasr.pipeline.tagging",
    "tag_record": "olmoasr.pipeline.tagging",
    "tag_segments": "olmoasr.pipeline.tagging",
}
__all__ = sorted([*_EXPORTS, "prep_jsonl", "prep_segment"])
__getattr__ = lazy_exports(__name__, _EXPORTS)
