"""`prep segment`: document JSONL shards -> <= 30 s training segments (records + FLAC audio in tar containers).

Per input shard `S` (one task, or several parts of `docs_per_part` documents for big shards):
- `S.jsonl.gz`: `SegmentRecord`s in document order (spec §2.4 fields, document tags carried into every
  segment, §2.5 machine-alignment fields when the document has `mach_content`),
- `audio/<task>/<task>-NNNNNN.tar`: the segments' 16 kHz mono FLAC, N per tar (not in `--text-only` mode,
  where `audio_file` is the source recording and `audio_timestamp` the window to decode from it),
- `S.rejects.tsv` (documents that could not be segmented, with reasons), `S.stats.json`.

Every source recording is decoded once, streaming, and cut as the stream passes (`audio_windows`).
A document's segments reach the containers only once its whole audio decoded (`DocumentSpool`), so a file
that turns out corrupt half-way leaves no orphan audio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from olmoasr.audio import DURATION_TOLERANCE_S, SAMPLE_RATE, decoded_duration, encode_flac, iter_pcm16
from olmoasr.errors import AudioError, InputError, UsageError
from olmoasr.io.completion import check_complete, marker_path
from olmoasr.io.jsonl import (
    JsonlReadStats,
    JsonlWriter,
    iter_jsonl,
    jsonl_files,
    strip_jsonl_suffix,
)
from olmoasr.io.storage import AnyPath, as_path, check_output_outside_input, is_remote, location_str
from olmoasr.log import warn
from olmoasr.pipeline.audio_windows import iter_windows
from olmoasr.pipeline.executor import ProgressFn, ShardTask, StageReport, Stats, run_stage
from olmoasr.pipeline.machine_alignment import MachineWindow, alignment_fields, machine_windows
from olmoasr.pipeline.prep_common import Rejects, merge_part_outputs, task_outputs, write_stats
from olmoasr.pipeline.segmenting import (
    DEFAULT_MAX_SEGMENTS,
    MIN_MS,
    Window,
    WindowingOptions,
    WindowingStats,
    segment_windows,
)
from olmoasr.pipeline.shard_parts import count_records, split_ranges
from olmoasr.records.schema import DOCUMENT_FIELDS, check_document, refuse_other_record_kind, segment_record
from olmoasr.records.segment_store import ContainerWriter, DocumentSpool
from olmoasr.records.transcripts import format_transcript, karaoke_word_starts, parse_transcript
from olmoasr.timestamps import format_range_ms

DOCS_PER_PART = 128
DEFAULT_SEGMENTS_PER_CONTAINER = 1000
AUDIO_DIR = "audio"
MIN_SAMPLES = MIN_MS * SAMPLE_RATE // 1000


@dataclass(frozen=True)
class SegmentOptions:
    """What `prep segment` does; validated before any work starts."""

    text_only: bool = False
    max_segments_per_doc: int = DEFAULT_MAX_SEGMENTS  # 0: no cap
    channel: int | None = None  # None: downmix like `ffmpeg -ac 1`
    segments_per_container: int = DEFAULT_SEGMENTS_PER_CONTAINER
    docs_per_part: int = DOCS_PER_PART

    def __post_init__(self) -> None:
        if self.max_segments_per_doc < 0:
            raise UsageError("--max-segments-per-doc must be >= 0 (0 = no cap)")
        if self.channel is not None and self.channel < 0:
            raise UsageError("--channel must be >= 0")
        if self.segments_per_container < 1:
            raise UsageError("--segments-per-container must be >= 1")
        if self.docs_per_part < 1:
            raise UsageError("docs_per_part must be >= 1")


@dataclass
class PrepSegmentStage:
    input_dir: AnyPath
    output_dir: AnyPath
    options: SegmentOptions
    name: str = "prep_segment"
    # Ray scheduling hints: one streaming decode + FLAC encode per worker (measured peak RSS ~150 MB).
    resources: ClassVar[dict[str, float]] = {"num_cpus": 1, "memory": 1 << 30}

    def inputs(self) -> dict[str, AnyPath]:
        found: dict[str, AnyPath] = {}
        for path in jsonl_files(self.input_dir):
            shard = strip_jsonl_suffix(path.name)
            if shard in found:
                raise UsageError(f"{path}: two input files give the output shard name {shard!r}")
            found[shard] = path
        return found

    def plan(self) -> list[ShardTask]:
        tasks = []
        for shard, path in self.inputs().items():
            if marker_path(self.output_dir, self.name, shard).exists():
                tasks.append(ShardTask(shard, (location_str(path),)))  # finished: skipped without a scan
                continue
            ranges = split_ranges(count_records(path), self.options.docs_per_part)
            for k, (lo, hi) in enumerate(ranges):
                tasks.append(ShardTask(shard, (location_str(path), str(lo), str(hi)), k, len(ranges), float(hi - lo)))
        return tasks

    def run_task(self, task: ShardTask, progress: ProgressFn) -> Stats:
        path = task.inputs[0]
        lo, hi = (int(task.inputs[1]), int(task.inputs[2])) if len(task.inputs) == 3 else (0, None)
        outputs = task_outputs(self.output_dir, self.name, task)
        segmenter = DocumentSegmenter(self.options)
        rejects = Rejects()
        read_stats = JsonlReadStats()
        containers = None
        if not self.options.text_only:
            containers = ContainerWriter(
                self.output_dir / AUDIO_DIR / task.key, task.key, self.options.segments_per_container
            )
        spool = DocumentSpool(None if is_remote(self.output_dir) else self.output_dir)
        try:
            with JsonlWriter(outputs.records) as writer:
                for line_no, doc in iter_jsonl(path, read_stats, first=lo, stop=hi):
                    try:
                        records = segmenter.segment(doc, spool)
                    except InputError as err:
                        spool.clear()
                        rejects.add(str(doc.get("id", f"line {line_no}")), err.path, err.reason, str(err))
                        warn(f"{path}:{line_no}: document rejected: {err}")
                    else:
                        locations = spool.drain_into(containers) if containers is not None else {}
                        for fields in records:
                            location = locations.get(fields["seg_id"])
                            if location is not None:
                                fields["audio_file"] = location.audio_file
                                fields["audio_offset"] = location.audio_offset
                                fields["audio_nbytes"] = location.audio_nbytes
                            writer.write(segment_record(**fields))
                    progress(1)
                if containers is not None:
                    containers.close()
        except BaseException:
            if containers is not None:
                containers.abort()
            raise
        finally:
            spool.close()
        rejects.write(outputs.rejects)
        stats = segmenter.stats
        stats.update(rejects.stats())
        if read_stats.malformed:
            stats["malformed_lines"] = stats.get("malformed_lines", 0) + read_stats.malformed
        write_stats(outputs.stats, stats)
        return stats

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        return merge_part_outputs(self.output_dir, self.name, shard, num_parts)


def _whisper_token_counter() -> Callable[[str], int]:
    from olmoasr.model.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(multilingual=False)
    return lambda text: len(tokenizer.encode(text))


class DocumentSegmenter:
    """Turns one document record into segment records (and, with audio, their FLAC bytes in a spool)."""

    def __init__(self, options: SegmentOptions, count_tokens: Callable[[str], int] | None = None):
        self.options = options
        self.count_tokens = count_tokens or _whisper_token_counter()
        self.windowing = WindowingOptions(max_segments=options.max_segments_per_doc)
        self.stats: Stats = {"docs": 0, "hours_in": 0.0, "segments": 0, "hours_out": 0.0}

    def _bump(self, key: str, n: float = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def segment(self, doc: dict[str, Any], spool: DocumentSpool) -> list[dict[str, Any]]:
        doc_id = doc.get("id")
        subtitle_file = doc.get("subtitle_file") or ""
        where = str(subtitle_file or doc_id)
        problem = check_document(doc)
        if problem is not None or not doc_id:
            raise InputError(where, "bad_record", f"not a document record ({problem or 'empty:id'})")
        content = doc["content"]
        transcript = parse_transcript(content, source=where, name=subtitle_file)
        fmt = transcript.fmt
        length = doc.get("length")
        duration_ms = int(length * 1000) if isinstance(length, int | float) and length > 0 else None
        audio_file = doc.get("audio_file")
        if duration_ms and audio_file and not self.options.text_only:
            duration_ms = self._checked_duration_ms(str(audio_file), duration_ms)
        wstats = WindowingStats()
        windows = segment_windows(transcript.captions, self.count_tokens, duration_ms, self.windowing, wstats)

        samples: dict[int, int] = {}
        beyond: set[int] = set()
        if not self.options.text_only:
            if not audio_file:
                raise InputError(where, "missing_audio", "document has no `audio_file`")
            samples, beyond = self._cut_audio(doc_id, str(audio_file), windows, spool)
            if beyond:
                decoded_s = max(w.start_ms / 1000 + samples.get(k, 0) / SAMPLE_RATE for k, w in enumerate(windows))
                warn(f"{audio_file}: audio ends at {decoded_s:.1f} s, before the transcript does; "
                     f"{len(beyond)} segment(s) past the end dropped")  # fmt: skip

        align = None
        machine = doc.get("mach_content")
        if isinstance(machine, str) and machine.strip():
            align = self._machine_windows(doc, machine, windows)

        tags = {k: v for k, v in doc.items() if k not in DOCUMENT_FIELDS}
        folder = os.path.dirname(subtitle_file)
        records = []
        for k, window in enumerate(windows):
            seg_id = f"{doc_id}_{k}"
            if k in beyond:
                self._bump("dropped.beyond_audio")
                continue
            if not self.options.text_only and samples.get(k, 0) < MIN_SAMPLES:
                self._bump("dropped.too_short_audio")
                continue
            record = _window_fields(doc_id, seg_id, folder, fmt, window)
            if self.options.text_only and audio_file:
                record["audio_file"] = str(audio_file)
                record["audio_is_source"] = True
            if align is not None:
                mach_fmt, mach_windows = align
                record.update(alignment_fields(window, mach_windows[k], mach_fmt))
            for key, value in tags.items():
                record.setdefault(key, value)
            records.append(record)
            self._bump("segments")
            self._bump(f"segments.{window.kind}")
            audio_ms = (samples[k] * 1000 // SAMPLE_RATE) if samples else window.audio_end_ms - window.start_ms
            self._bump("hours_out", audio_ms / 3_600_000)
        for reason, n in wstats.counts.items():
            self._bump(f"dropped.{reason}", n)
        for reason, n in transcript.dropped.items():
            self._bump(f"cues_dropped.{reason}", n)
        self._bump("docs")
        if records:
            self._bump("docs_with_segments")
        if duration_ms:
            self._bump("hours_in", duration_ms / 3_600_000)
        return records

    def _checked_duration_ms(self, audio_file: str, length_ms: int) -> int:
        """The document's length, unless its audio decodes shorter (a file cut short after `prep jsonl`,
        or records from elsewhere): then what decodes, with a warning line and a count."""
        decoded_s = decoded_duration(audio_file, length_ms / 1000)
        if decoded_s >= length_ms / 1000 - DURATION_TOLERANCE_S or decoded_s <= 0:
            return length_ms  # whole, or nothing decodes (the cut below reports that)
        warn(f"{audio_file}: the document says {length_ms / 1000:.1f} s but the audio decodes to {decoded_s:.1f} s; "
             "segments stop there")  # fmt: skip
        self._bump("docs_audio_shorter_than_length")
        return int(decoded_s * 1000)

    def _cut_audio(
        self, doc_id: str, audio_file: str, windows: list[Window], spool: DocumentSpool
    ) -> tuple[dict[int, int], set[int]]:
        """Samples cut per window, and the windows whose transcript runs past the audio that decodes (a file
        cut short, or a `length` that overstates it): those are not written, and counted by the caller."""
        ranges = [(w.start_ms * SAMPLE_RATE // 1000, w.audio_end_ms * SAMPLE_RATE // 1000) for w in windows]
        lengths: dict[int, int] = {}
        if not ranges:
            return lengths, set()
        chunks = _until_undecodable(iter_pcm16(audio_file, channel=self.options.channel))
        for k, pcm in iter_windows(chunks, ranges):
            lengths[k] = len(pcm)
            if not self._past_audio(windows[k], len(pcm)) and len(pcm) >= MIN_SAMPLES:
                spool.add(f"{doc_id}_{k}", encode_flac(pcm))
        return lengths, {k for k, w in enumerate(windows) if self._past_audio(w, lengths.get(k, 0))}

    def _past_audio(self, window: Window, samples: int) -> bool:
        """The window's captions run past the audio that decoded for it (the windowing rule, on real samples)."""
        if window.kind != "speech":  # no caption to outrun: a clipped silence window is still silence
            return False
        audio_end_ms = window.start_ms + samples * 1000 // SAMPLE_RATE
        return window.text_end_ms - audio_end_ms > self.windowing.text_past_audio_ms

    def _machine_windows(
        self, doc: dict[str, Any], machine: str, windows: list[Window]
    ) -> tuple[str, list[MachineWindow]] | None:
        """The machine transcript's format and its captions per window, or None when it does not parse."""
        name = doc.get("mach_subtitle_file")
        where = name or f"{doc.get('id')}:mach_content"
        try:
            transcript = parse_transcript(machine, source=where, name=name if isinstance(name, str) else None)
        except InputError as err:
            warn(f"{err} (machine transcript ignored)")
            self._bump("machine_transcripts_ignored")
            return None
        self._bump("docs_with_machine")
        return transcript.fmt, machine_windows(windows, transcript.captions, karaoke_word_starts(machine))


def _until_undecodable(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The samples that decode: a stream that breaks after some audio (a truncated file) just ends there;
    one that yields nothing is the `AudioError` it raised."""
    decoded = False
    try:
        for chunk in chunks:
            decoded = True
            yield chunk
    except AudioError:
        if not decoded:
            raise


def _window_fields(doc_id: str, seg_id: str, folder: str, fmt: str, window: Window) -> dict[str, Any]:
    """A window's `SegmentRecord` fields (validated with the rest by `segment_record` when written)."""
    text_timestamp = format_range_ms(window.start_ms, window.text_end_ms)
    return {
        "subtitle_file": os.path.join(folder, f"{text_timestamp}.{fmt}"),
        "seg_content": format_transcript(window.relative_captions(), fmt),
        "text_timestamp": text_timestamp,
        "audio_timestamp": format_range_ms(window.start_ms, window.audio_end_ms),
        "norm_end": window.norm_end,
        "id": doc_id,
        "seg_id": seg_id,
        "ts_mode": window.ts_mode,
        "no_ts_mode": window.no_ts_mode,
        "only_no_ts_mode": window.only_no_ts_mode,
        "num_tokens_no_ts_mode": window.num_tokens_no_ts_mode,
        "num_tokens_ts_mode": window.num_tokens_ts_mode,
    }


def prep_segment(
    docs_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    text_only: bool = False,
    max_segments_per_doc: int = DEFAULT_MAX_SEGMENTS,
    channel: int | None = None,
    segments_per_container: int = DEFAULT_SEGMENTS_PER_CONTAINER,
    workers: int | None = None,
    show_progress: bool = True,
    docs_per_part: int = DOCS_PER_PART,
    executor=None,
    allow_partial: bool = False,
) -> StageReport:
    """Segment every document shard under `docs_dir` into `output_dir`. Returns the stage report. A
    `docs_dir` whose `prep jsonl` run did not finish is refused unless `allow_partial`."""
    options = SegmentOptions(text_only, max_segments_per_doc, channel, segments_per_container, docs_per_part)
    source = as_path(docs_dir)
    if not source.exists():
        raise UsageError(f"{source}: input not found")
    check_complete(source, allow_partial=allow_partial)
    check_output_outside_input(source, as_path(output_dir))
    stage = PrepSegmentStage(source, as_path(output_dir), options)
    inputs = stage.inputs()
    if not inputs:
        raise UsageError(f"{source}: no document JSONL files (.jsonl, .jsonl.gz, .jsonl.zst) found")
    refuse_other_record_kind(inputs.values(), "document", "prep segment reads the output of prep jsonl")
    return run_stage(stage, workers=workers, show_progress=show_progress, executor=executor)
