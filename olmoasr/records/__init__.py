"""The records layer every stage shares: the record schema (field names, validation), the segment store
(FLAC members in tar containers) and SRT/WebVTT transcripts (parse, format, format detection).

`pipeline/`, `train/` and `evaluation/` all build on this package; it depends only on the foundation
(`audio`, `io`, `timestamps`, `errors`). Names load lazily.

```python
from olmoasr.records import check_segment, load_segment_audio, parse_transcript
```
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_SCHEMA = "olmoasr.records.schema"
_STORE = "olmoasr.records.segment_store"
_TRANSCRIPTS = "olmoasr.records.transcripts"
_EXPORTS = {
    **dict.fromkeys(
        [
            "DOCUMENT_FIELDS",
            "SEGMENT_FIELDS",
            "TAG_FIELDS",
            "DocumentRecord",
            "RecordError",
            "SegmentRecord",
            "check_document",
            "check_segment",
            "document_record",
            "record_duration_s",
            "segment_duration_s",
            "segment_record",
            "validate_document",
            "validate_segment",
        ],
        _SCHEMA,
    ),
    **dict.fromkeys(
        [
            "AudioLocation",
            "ContainerWriter",
            "DocumentSpool",
            "SegmentAudioReader",
            "iter_container",
            "load_segment_audio",
        ],
        _STORE,
    ),
    **dict.fromkeys(
        [
            "Caption",
            "Transcript",
            "canonical_caption_texts",
            "detect_format",
            "format_transcript",
            "machine_transcript_text",
            "parse_transcript",
            "read_transcript",
            "transcript_text",
        ],
        _TRANSCRIPTS,
    ),
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
