"""Data stages: prep (jsonl, segment), tagging, filtering, sampling — each usable from Python and the CLI."""

from olmoasr.pipeline.filter_config import load_filter_config
from olmoasr.pipeline.filtering import apply_filters, filter_records
from olmoasr.pipeline.lang_id import LangIdOptions, tag_audio_language
from olmoasr.pipeline.prep_jsonl import prep_jsonl
from olmoasr.pipeline.prep_segment import prep_segment
from olmoasr.pipeline.sampling import sample_records, tag_stats
from olmoasr.pipeline.tagging import load_tagging_config, tag_documents, tag_record, tag_segments

__all__ = ["prep_jsonl", "prep_segment"]
__all__ += [
    "apply_filters",
    "filter_records",
    "load_filter_config",
    "load_tagging_config",
    "sample_records",
    "tag_documents",
    "tag_record",
    "tag_segments",
    "tag_stats",
]
__all__ += ["LangIdOptions", "tag_audio_language"]
