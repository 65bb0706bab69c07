"""The three executor stages of `tag lang`, and the vote merge between them.

1. classify (per segment shard): stream the shard, batch the audio of its speech segments through the
   classifier, count votes per document id -> `.olmoasr/tag_lang/votes/<shard>.json`.
2. merge (main process): add up every shard's votes in shard order (so a document whose segments sit
   in several shards still gets one majority, ties -> first seen), write each shard's winners and the
   global `{id: audio_lang}` map.
3. write (per segment shard, and per document shard with --docs): stream the shard again and write
   every record with its document's `audio_lang` (null when no segment of it could be classified).

Memory per worker is one batch of audio plus the vote table of one shard. Each stage has completion
markers; a winners file that changed since the last run removes that shard's write marker, so a re-run
never leaves a stale `audio_lang` behind.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from olmoasr.errors import InputError, OlmoasrError
from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.completion import MARKER_DIR, marker_path
from olmoasr.io.jsonl import JsonlReadStats, iter_jsonl
from olmoasr.io.storage import AnyPath, as_path, remove
from olmoasr.log import warn
from olmoasr.pipeline.executor import ShardTask, Stats
from olmoasr.pipeline.lang_id.backends import LanguageClassifier, Prediction, get_classifier
from olmoasr.pipeline.lang_id.segments import has_speech, load_segment_waveform
from olmoasr.pipeline.lang_id.votes import DocumentVotes
from olmoasr.pipeline.record_map import RecordMapStage
from olmoasr.pipeline.shard_parts import plan_shards
from olmoasr.records.schema import check_segment

STATE_DIR = f"{MARKER_DIR}/tag_lang"
CLASSIFY_STAGE = "tag-lang-classify"
WRITE_STAGE = "tag-lang"
DOCS_STAGE = "tag-lang-docs"
SAMPLE_RATE = 16000
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class ShardFile:
    key: str  # output shard name without suffix (relative path)
    path: str  # input file
    rel: str  # output file name relative to the output directory


def plan_shard_files(input_path: str | Path, output_dir: str | Path, allow_partial: bool = False) -> list[ShardFile]:
    return [ShardFile(key, path, rel) for key, path, rel in plan_shards(input_path, output_dir, allow_partial)]


def votes_path(output_dir: Path, key: str) -> Path:
    return as_path(output_dir) / STATE_DIR / "votes" / f"{key}.json"


def winners_path(output_dir: Path, key: str) -> Path:
    return as_path(output_dir) / STATE_DIR / "winners" / f"{key}.json"


def audio_lang_map_path(output_dir: Path) -> Path:
    return as_path(output_dir) / STATE_DIR / "audio_lang.json"


def _add(stats: Stats, key: str, value: float = 1) -> None:
    stats[key] = stats.get(key, 0) + value


def _tasks(shards: tuple[ShardFile, ...]) -> list[ShardTask]:
    return [ShardTask(s.key, (s.path, s.rel), weight=float(as_path(s.path).stat().st_size)) for s in shards]


# ------------------------------------------------------------------------------------------- 1. classify


def length_batches(lengths: list[int], batch_size: int, max_batch_seconds: float) -> list[list[int]]:
    """Consecutive index batches over ascending `lengths` (samples): at most `batch_size` items, and at most
    `max_batch_seconds` of audio once every item is padded to the batch's longest (at least one item)."""
    budget = max_batch_seconds * SAMPLE_RATE
    batches: list[list[int]] = []
    current: list[int] = []
    for index, length in enumerate(lengths):
        if current and (len(current) >= batch_size or (len(current) + 1) * length > budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def _load(item: tuple[str, dict[str, Any], str]) -> np.ndarray | OlmoasrError:
    try:
        return load_segment_waveform(item[1])
    except OlmoasrError as err:
        return err
    except (ValueError, TypeError, OSError, MemoryError) as err:  # one bad record never fails the shard
        return InputError(item[2], "bad_record", f"{type(err).__name__}: {' '.join(str(err).split())[:160]}")


@dataclass
class ClassifyStage:
    shards: tuple[ShardFile, ...]
    output_dir: Path
    backend: str
    model_path: str
    device: str
    batch_size: int = 32
    loader_threads: int = 4
    max_batch_seconds: float = 960.0  # padded audio per model call: bounds activation memory
    classifier: LanguageClassifier | None = None  # injected (tests, custom backends); else loaded by name
    name: str = CLASSIFY_STAGE
    threshold: float | None = None  # whisper-en: average log-probability cut (None: calibrated default)

    @property
    def resources(self) -> dict[str, float]:
        """Ray scheduling hints: a GPU per task when classifying on CUDA, room for a model and a batch."""
        on_gpu = str(self.device).startswith("cuda")
        return {"num_cpus": max(1, self.loader_threads // 2), "num_gpus": 1 if on_gpu else 0, "memory": 4 << 30}

    def plan(self) -> list[ShardTask]:
        return _tasks(self.shards)

    def run_task(self, task: ShardTask, progress: Callable[[int], None]) -> Stats:
        in_path = task.inputs[0]
        started = time.perf_counter()
        classifier = self.classifier or get_classifier(self.backend, self.model_path, self.device, self.threshold)
        votes = DocumentVotes()
        stats: Stats = {"segment_shards": 1}
        read_stats = JsonlReadStats()
        pending: list[tuple[str, dict[str, Any], str]] = []
        buffer_size = self.batch_size * 4
        with cf.ThreadPoolExecutor(max_workers=max(1, self.loader_threads)) as pool:
            # The audio of the next buffer decodes in the loader threads while the model classifies this one.
            in_flight: tuple[list, list[cf.Future]] | None = None

            def submit(items: list[tuple[str, dict[str, Any], str]]) -> None:
                nonlocal in_flight
                loading = (items, [pool.submit(_load, item) for item in items])
                if in_flight is not None:
                    self._classify(*in_flight, classifier, votes, stats)
                    progress(len(in_flight[0]))
                in_flight = loading

            for line_no, record in iter_jsonl(in_path, read_stats):
                _add(stats, "segments")
                doc_id = record.get("id")
                if not isinstance(doc_id, str) or not doc_id:
                    _add(stats, "segments_without_id")
                    warn(f"{in_path}:{line_no}: segment has no document `id`; it cannot vote")
                    continue
                invalid = check_segment(record)
                if invalid is not None:
                    _add(stats, f"segments_audio_error/{invalid}")
                    warn(f"{in_path}:{line_no}: not a valid segment record ({invalid}); skipped")
                    continue
                votes.see(doc_id)
                if not has_speech(record):
                    _add(stats, "segments_no_speech")
                    continue
                pending.append((doc_id, record, f"{in_path}:{line_no}"))
                if len(pending) >= buffer_size:
                    submit(pending)
                    pending = []
            submit(pending)
            if in_flight is not None and in_flight[0]:
                self._classify(*in_flight, classifier, votes, stats)
                progress(len(in_flight[0]))
        stats["malformed_lines"] = read_stats.malformed
        stats["worker_seconds"] = time.perf_counter() - started
        atomic_write_bytes(votes_path(self.output_dir, task.shard), orjson.dumps(votes.to_json()))
        return stats

    def _classify(
        self,
        pending: list[tuple[str, dict[str, Any], str]],
        loads: list[cf.Future],
        classifier: LanguageClassifier,
        votes: DocumentVotes,
        stats: Stats,
    ) -> None:
        started = time.perf_counter()
        waves = [future.result() for future in loads]
        _add(stats, "load_wait_seconds", time.perf_counter() - started)
        usable: list[int] = []
        for i, wave in enumerate(waves):
            if isinstance(wave, OlmoasrError):
                reason = getattr(wave, "reason", "audio_error")
                _add(stats, f"segments_audio_error/{reason}")
                warn(f"{pending[i][2]}: segment audio not classified: {wave}")
            elif len(wave) == 0:
                _add(stats, "segments_audio_error/empty_audio")
                warn(f"{pending[i][2]}: segment audio is empty; not classified")
            else:
                usable.append(i)
        # Similar lengths share a batch: less padding to compute, and batches of near-equal lengths.
        classified = set(usable)
        usable.sort(key=lambda i: len(waves[i]))
        predictions: list[Prediction | None] = [None] * len(pending)
        started = time.perf_counter()
        for chunk in length_batches([len(waves[i]) for i in usable], self.batch_size, self.max_batch_seconds):
            rows = [usable[k] for k in chunk]
            for i, prediction in zip(rows, classifier.classify([waves[i] for i in rows]), strict=True):
                predictions[i] = prediction
        _add(stats, "classify_seconds", time.perf_counter() - started)
        for i, (doc_id, _, where) in enumerate(pending):  # record order, so ties go to the first seen
            prediction = predictions[i]
            if prediction is None:
                if i in classified:
                    _add(stats, "segments_audio_error/unclassifiable")
                    warn(f"{where}: the classifier returned no language")
                continue
            votes.add(doc_id, prediction.language)
            _add(stats, "segments_classified")
            _add(stats, "audio_seconds_classified", len(waves[i]) / SAMPLE_RATE)
            _add(stats, f"segment_lang/{prediction.language}")


def settings_path(output_dir: Path) -> Path:
    return as_path(output_dir) / STATE_DIR / "classify_settings.json"


def forget_votes_of_other_settings(output_dir: Path, settings: dict[str, Any]) -> None:
    """A re-run with another backend, model or threshold must classify again: the votes and classify
    markers of a run with different settings are removed (the merge then rewrites what changed)."""
    path = settings_path(output_dir)
    data = orjson.dumps(settings, option=orjson.OPT_SORT_KEYS)
    try:
        unchanged = path.read_bytes() == data
    except OSError:
        unchanged = False
    if unchanged:
        return
    for folder in (as_path(output_dir) / MARKER_DIR / CLASSIFY_STAGE, as_path(output_dir) / STATE_DIR / "votes"):
        for stale in folder.rglob("*.json"):
            remove(stale)
    atomic_write_bytes(path, data)


# ------------------------------------------------------------------------------------------- 2. merge


def _replace_if_changed(path: Path, data: bytes, stale_marker: Path) -> None:
    """Write `data` to `path`; when it differs from what was there, the marker of the output made
    from the old content is removed so that output is written again."""
    try:
        unchanged = path.read_bytes() == data
    except OSError:
        unchanged = False
    if not unchanged:
        remove(stale_marker)
        atomic_write_bytes(path, data)


def merge_votes(output_dir: Path, shards: tuple[ShardFile, ...]) -> tuple[DocumentVotes, list[ShardFile]]:
    """All shards' votes in shard order, and the shards whose classification finished."""
    votes = DocumentVotes()
    finished = []
    for shard in shards:
        try:
            data = orjson.loads(votes_path(output_dir, shard.key).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        finished.append(shard)
        for doc_id, counts in data.items():
            votes.merge(doc_id, ((lang, int(n)) for lang, n in counts))
    return votes, finished


def write_winners(output_dir: Path, finished: list[ShardFile], winners: dict[str, str | None]) -> None:
    for shard in finished:
        doc_ids = orjson.loads(votes_path(output_dir, shard.key).read_bytes()).keys()
        data = orjson.dumps({doc_id: winners.get(doc_id) for doc_id in doc_ids}, option=orjson.OPT_SORT_KEYS)
        _replace_if_changed(winners_path(output_dir, shard.key), data, marker_path(output_dir, WRITE_STAGE, shard.key))


def write_audio_lang_map(output_dir: Path, winners: dict[str, str | None], docs_output_dir: Path | None) -> Path:
    path = audio_lang_map_path(output_dir)
    data = orjson.dumps(winners, option=orjson.OPT_SORT_KEYS)
    try:
        unchanged = path.read_bytes() == data
    except OSError:
        unchanged = False
    if not unchanged:
        if docs_output_dir is not None:  # every document shard was tagged from the old map
            for marker in (as_path(docs_output_dir) / MARKER_DIR / DOCS_STAGE).rglob("*.done.json"):
                remove(marker)
        atomic_write_bytes(path, data)
    return path


# ------------------------------------------------------------------------------------------- 3. write


class AudioLangWriter:
    """One task's `audio_lang` writer: the language of the record's document, and counts by outcome."""

    def __init__(self, lookup: Callable[[Any], tuple[str | None, str]]):
        self.lookup = lookup
        self.stats: Stats = {}

    def map(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        language, outcome = self.lookup(record.get("id"))
        record["audio_lang"] = language
        _add(self.stats, f"records_{outcome}")
        return record

    def finish(self) -> Stats:
        stats, self.stats = self.stats, {}
        return stats


@dataclass(frozen=True)
class SegmentLangStep:
    """Record-map step: `audio_lang` into segment records from their shard's winners (pass 2's output)."""

    state_dir: Path  # the segment run's output directory, which holds `.olmoasr/tag_lang/winners/`
    name: str = WRITE_STAGE

    def start(self, task: ShardTask) -> AudioLangWriter:
        winners = orjson.loads(winners_path(self.state_dir, task.shard).read_bytes())

        def lookup(doc_id: Any) -> tuple[str | None, str]:
            language = winners.get(doc_id) if isinstance(doc_id, str) else None
            return language, "with_audio_lang" if language is not None else "without_audio_lang"

        return AudioLangWriter(lookup)

    def shard_done(self, output_dir: AnyPath, shard: str, stats: Stats) -> None:
        return None


_MAPS: dict[str, dict[str, str | None]] = {}


def _load_map(path: AnyPath) -> dict[str, str | None]:
    stat = path.stat()
    key = f"{path}:{getattr(stat, 'st_mtime_ns', None) or stat.st_mtime}:{stat.st_size}"
    if key not in _MAPS:
        _MAPS.clear()
        _MAPS[key] = orjson.loads(path.read_bytes())
    return _MAPS[key]


@dataclass(frozen=True)
class DocumentLangStep:
    """Record-map step: `audio_lang` into document records from the global map of the segment run."""

    map_path: Path
    name: str = DOCS_STAGE

    def start(self, task: ShardTask) -> AudioLangWriter:
        mapping = _load_map(as_path(self.map_path))

        def lookup(doc_id: Any) -> tuple[str | None, str]:
            if not isinstance(doc_id, str) or doc_id not in mapping:
                return None, "without_segments"
            language = mapping[doc_id]
            return language, "with_audio_lang" if language is not None else "without_audio_lang"

        return AudioLangWriter(lookup)

    def shard_done(self, output_dir: AnyPath, shard: str, stats: Stats) -> None:
        return None


def write_stage(shards: tuple[ShardFile, ...], output_dir: Path, workers: int) -> RecordMapStage:
    """Pass 3: the finished segment shards again, with `audio_lang`. The classify pass already reported
    their malformed lines."""
    plans = tuple((s.key, s.path, s.rel) for s in shards)
    return RecordMapStage(plans, output_dir, (SegmentLangStep(output_dir),), workers=workers, report_bad_lines=False)


def docs_stage(shards: tuple[ShardFile, ...], output_dir: Path, map_path: Path, workers: int) -> RecordMapStage:
    """Document records with `audio_lang`; each task holds the whole id -> language map."""
    plans = tuple((s.key, s.path, s.rel) for s in shards)
    resources = {"num_cpus": 1, "memory": 1 << 30}
    return RecordMapStage(plans, output_dir, (DocumentLangStep(map_path),), workers=workers, resources=resources)
