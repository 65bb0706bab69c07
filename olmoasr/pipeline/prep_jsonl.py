"""`prep jsonl`: raw shard folders of audio/transcript pairs -> one JSONL of document records per shard.

Input layout (spec §1.1), found at any depth under the input directory:

    shard_00000/<pair_id>/audio_<pair_id>.<ext>              any audio/video container FFmpeg reads
    shard_00000/<pair_id>/transcript_<pair_id>.<srt|vtt>     manual transcript
    shard_00000/<pair_id>/mach_transcript_<pair_id>.<vtt|srt>   optional machine (auto) captions

Folder links are followed, never into a folder already read (a loop is one warning line). A pair id
seen in an earlier shard is rejected as `duplicate_id` (ids key every later stage). A transcript that is
not UTF-8 is decoded by detection and counted (`transcripts_redecoded.<encoding>`).

A pair folder is any folder holding `audio_<id>.*` or `transcript_<id>.*` files; its parent is the
shard (or the folder itself when several ids share it). Output: `<shard>.jsonl.gz` of `DocumentRecord`s
(`length` = the audio's real duration: the header's, checked by decoding its last seconds), `<shard>.rejects.tsv` with a
typed reason per rejected pair, `<shard>.stats.json`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from olmoasr.audio import DURATION_TOLERANCE_S, decoded_duration, is_media_file, probe_duration
from olmoasr.errors import AudioError, InputError, UsageError
from olmoasr.io.jsonl import JsonlWriter
from olmoasr.io.storage import AnyPath, absolute, as_path, is_remote, location_str, remote_files
from olmoasr.log import warn
from olmoasr.pipeline.executor import ProgressFn, ShardTask, StageReport, Stats, run_stage
from olmoasr.pipeline.prep_common import Rejects, merge_part_outputs, task_outputs, write_stats
from olmoasr.pipeline.shard_parts import split_ranges
from olmoasr.records.schema import document_record
from olmoasr.records.transcripts import FORMATS, parse_transcript, read_transcript_file

AUDIO_PREFIX = "audio_"
TRANSCRIPT_PREFIX = "transcript_"
MACHINE_PREFIX = "mach_transcript_"
PAIRS_PER_PART = 500


@dataclass(frozen=True)
class PairFiles:
    pair_id: str
    folder: AnyPath
    audio: tuple[AnyPath, ...]
    transcript: tuple[AnyPath, ...]
    machine: tuple[AnyPath, ...]


def _classify(name: str) -> tuple[str, str] | None:
    """`audio_x.mp3` -> ("audio", "x"); the machine prefix is checked before the transcript one."""
    for kind, prefix in (("machine", MACHINE_PREFIX), ("transcript", TRANSCRIPT_PREFIX), ("audio", AUDIO_PREFIX)):
        if name.startswith(prefix):
            stem = name[len(prefix) :]
            pair_id = stem.rsplit(".", 1)[0] if "." in stem else stem
            if pair_id:
                return kind, pair_id
    return None


def _pairs_in(folder: AnyPath, entries: list[tuple[str, AnyPath]]) -> list[PairFiles]:
    found: dict[str, dict[str, list[AnyPath]]] = defaultdict(lambda: defaultdict(list))
    for name, path in entries:
        kind_id = _classify(name)
        if kind_id:
            found[kind_id[1]][kind_id[0]].append(path)
    return [
        PairFiles(pid, folder, tuple(f["audio"]), tuple(f["transcript"]), tuple(f["machine"]))
        for pid, f in sorted(found.items())
    ]


def _folder_entries(folder: AnyPath) -> list[tuple[str, AnyPath]]:
    """(name, path) of the visible files directly in `folder`, sorted by name."""
    if is_remote(folder):
        try:
            infos = folder.fs.ls(folder.path, detail=True)
        except FileNotFoundError:
            return []
        names = (info["name"].rstrip("/").rsplit("/", 1)[-1] for info in infos if info.get("type") == "file")
        return [(name, folder / name) for name in sorted(names) if not name.startswith(".")]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    return [(e.name, Path(e.path)) for e in entries if not e.name.startswith(".") and _is_file(e)]


def _is_file(entry: os.DirEntry) -> bool:
    """A file, or a link that cannot be followed (a loop): kept, so its pair is rejected with the reason."""
    try:
        return entry.is_file()
    except OSError:
        return True


def _walk_local(root: Path) -> Iterator[Path]:
    """Every folder under `root`, following folder links but never into a folder already read: a link
    loop (or a second link to one folder) is one warning line and the walk goes on."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
        except OSError as err:
            warn(f"{folder}: skipped, cannot read it ({err.strerror or type(err).__name__})")
            continue
        if (info.st_dev, info.st_ino) in seen:
            warn(f"{folder}: skipped, a symbolic link loop (or a second link to a folder already read)")
            continue
        seen.add((info.st_dev, info.st_ino))
        yield folder
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            warn(f"{folder}: skipped, cannot list it ({err.strerror or type(err).__name__})")
            continue
        stack.extend(Path(e.path) for e in reversed(entries) if not e.name.startswith(".") and _is_dir(e))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def scan_folder(folder: AnyPath) -> list[PairFiles]:
    """The pairs whose files sit directly in `folder`, sorted by id."""
    return _pairs_in(folder, _folder_entries(folder))


def _walk_folders(root: AnyPath) -> Iterator[tuple[AnyPath, list[tuple[str, AnyPath]]]]:
    """Every folder under `root` (hidden ones skipped) with its visible files. On object storage: one
    recursive listing, grouped by prefix."""
    if not is_remote(root):
        for folder in _walk_local(Path(root)):
            yield folder, _folder_entries(folder)
        return
    by_folder: dict[str, list[tuple[str, AnyPath]]] = defaultdict(list)
    for rel, path in remote_files(root):
        parts = rel.split("/")
        if not any(part.startswith(".") for part in parts):
            by_folder["/".join(parts[:-1])].append((parts[-1], path))
    for rel in sorted(by_folder):
        yield (root / rel if rel else root), by_folder[rel]


def find_shards(raw_dir: AnyPath) -> dict[str, list[tuple[str, str]]]:
    """shard name -> sorted [(pair folder, pair id)], for every pair found under `raw_dir`."""
    by_shard_dir: dict[str, tuple[AnyPath, list[tuple[str, str]]]] = {}
    for folder, entries in _walk_folders(raw_dir):
        pairs = _pairs_in(folder, entries)
        for pair in pairs:
            shard_dir = folder.parent if len(pairs) == 1 and folder != raw_dir else folder
            by_shard_dir.setdefault(str(shard_dir), (shard_dir, []))[1].append((location_str(folder), pair.pair_id))
    names: dict[str, str] = {}
    for key in sorted(by_shard_dir, key=lambda k: by_shard_dir[k][0].parts):
        shard_dir = by_shard_dir[key][0]
        name = shard_dir.name or "shard"
        if name in names:  # two shard folders with one name in different places: name by relative path
            name = "__".join(absolute(shard_dir).relative_to(absolute(raw_dir)).parts) or name
        names[name] = key
    return {name: sorted(by_shard_dir[key][1]) for name, key in names.items()}


def _pick_transcript(paths: tuple[AnyPath, ...]) -> AnyPath | None:
    preferred = [p for p in paths if p.suffix.lower().lstrip(".") in FORMATS]
    return (preferred or list(paths) or [None])[0]


def _pick_audio(paths: tuple[AnyPath, ...]) -> AnyPath | None:
    preferred = [p for p in paths if is_media_file(p)]
    return (preferred or list(paths) or [None])[0]


def document_for_pair(pair: PairFiles, stats: Stats) -> dict:
    """The document record of one pair; raises `InputError` (typed reason) for a rejected pair."""
    transcript_path = _pick_transcript(pair.transcript)
    if transcript_path is None:
        raise InputError(location_str(pair.folder), "missing_transcript", f"no transcript_{pair.pair_id}.srt/.vtt")
    audio_path = _pick_audio(pair.audio)
    if audio_path is None:
        raise InputError(location_str(pair.folder), "missing_audio", f"no audio_{pair.pair_id}.* file")
    content = _read_text(transcript_path, stats)
    transcript = parse_transcript(content, source=location_str(transcript_path), name=transcript_path.name)
    for reason, n in transcript.dropped.items():
        stats[f"cues_dropped.{reason}"] = stats.get(f"cues_dropped.{reason}", 0) + n
    length = _true_duration(audio_path, stats)
    fields = {
        "subtitle_file": location_str(absolute(transcript_path)),
        "content": content,
        "length": round(length, 3),
        "audio_file": location_str(absolute(audio_path)),
        "id": pair.pair_id,
    }
    machine_path = _pick_transcript(pair.machine)
    if machine_path is not None:
        try:
            machine_content = _read_text(machine_path, stats)
            parse_transcript(machine_content, source=location_str(machine_path), name=machine_path.name)
        except InputError as err:
            warn(f"{err} (machine transcript ignored)")
            stats["machine_transcripts_ignored"] = stats.get("machine_transcripts_ignored", 0) + 1
        else:
            fields["mach_content"] = machine_content
            fields["mach_subtitle_file"] = location_str(absolute(machine_path))
            stats["docs_with_machine"] = stats.get("docs_with_machine", 0) + 1
    return document_record(**fields)


def _bump(stats: Stats, key: str) -> None:
    stats[key] = stats.get(key, 0) + 1


def _read_text(path: AnyPath, stats: Stats) -> str:
    """A transcript's text; one read in a guessed (non-UTF-8) encoding is counted by encoding."""
    decoded = read_transcript_file(path)
    if decoded.guessed:
        _bump(stats, f"transcripts_redecoded.{decoded.encoding}")
    return decoded.text


def _true_duration(audio: AnyPath, stats: Stats) -> float:
    """What decodes, not what the header claims: a file cut short gets its real length, a warning line
    and a count (`audio_truncated`); prep segment then makes no segment past its end."""
    header = probe_duration(audio)
    length = decoded_duration(audio, header)
    if length >= header - DURATION_TOLERANCE_S:
        return header
    if length <= 0:
        raise AudioError(location_str(audio), "corrupt_audio", "no audio decodes")
    warn(f"{location_str(audio)}: header says {header:.1f} s but the audio decodes to {length:.1f} s (cut short); "
         "length set to what decodes")  # fmt: skip
    _bump(stats, "audio_truncated")
    return length


@dataclass
class PrepJsonlStage:
    """Executor stage: one task per shard folder (split into parts of `pairs_per_part` pairs)."""

    raw_dir: AnyPath
    output_dir: AnyPath
    pairs_per_part: int = PAIRS_PER_PART
    name: str = "prep_jsonl"
    # Ray scheduling hints: header probes and transcript parsing, small and flat memory.
    resources: ClassVar[dict[str, float]] = {"num_cpus": 1, "memory": 512 << 20}

    def __post_init__(self) -> None:
        self._tasks: list[ShardTask] | None = None
        self.duplicates: dict[str, str] = {}  # pair key -> where the same id was found first

    def plan(self) -> list[ShardTask]:
        if self._tasks is None:  # walked once: the walk's warnings are printed once
            shards = find_shards(self.raw_dir)
            self.duplicates = _duplicate_ids(shards)
            self._tasks = self._tasks_for(shards)
        return self._tasks

    def _tasks_for(self, shards: dict[str, list[tuple[str, str]]]) -> list[ShardTask]:
        tasks = []
        for shard, pairs in shards.items():
            ranges = split_ranges(len(pairs), self.pairs_per_part)
            for k, (lo, hi) in enumerate(ranges):
                inputs = tuple(os.path.join(folder, pid) for folder, pid in pairs[lo:hi])
                tasks.append(ShardTask(shard, inputs, k, len(ranges), weight=float(hi - lo)))
        return tasks

    def run_task(self, task: ShardTask, progress: ProgressFn) -> Stats:
        outputs = task_outputs(self.output_dir, self.name, task)
        rejects = Rejects()
        stats: Stats = {"pairs": 0, "docs": 0, "hours_in": 0.0}
        with JsonlWriter(outputs.records) as writer:
            for key in task.inputs:
                folder, pair_id = os.path.split(key)
                pair = next((p for p in scan_folder(as_path(folder)) if p.pair_id == pair_id), None)
                stats["pairs"] += 1
                if pair is None:
                    rejects.add(pair_id, folder, "missing_pair", "pair files disappeared since planning")
                    continue
                if key in self.duplicates:
                    message = f"id {pair_id} is also the id of {self.duplicates[key]}, read first"
                    rejects.add(pair_id, folder, "duplicate_id", message)
                    warn(f"rejected {pair_id}: {folder}: {message}")
                    progress(1)
                    continue
                try:
                    record = document_for_pair(pair, stats)
                except InputError as err:
                    rejects.add(pair_id, err.path, err.reason, str(err))
                    warn(f"rejected {pair_id}: {err}")
                else:
                    writer.write(record)
                    stats["docs"] += 1
                    stats["hours_in"] += record["length"] / 3600.0
                progress(1)
        rejects.write(outputs.rejects)
        stats.update(rejects.stats())
        write_stats(outputs.stats, stats)
        return stats

    def merge_parts(self, shard: str, num_parts: int) -> Stats:
        return merge_part_outputs(self.output_dir, self.name, shard, num_parts)


def _duplicate_ids(shards: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Pairs whose id an earlier pair (shards in name order) already has: ids key every later stage."""
    first: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    for shard in sorted(shards):
        for folder, pair_id in shards[shard]:
            key = os.path.join(folder, pair_id)
            if pair_id in first:
                duplicates[key] = first[pair_id]
            else:
                first[pair_id] = key
    return duplicates


def prep_jsonl(
    raw_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    workers: int | None = None,
    show_progress: bool = True,
    pairs_per_part: int = PAIRS_PER_PART,
    executor=None,
) -> StageReport:
    """Turn raw shard folders into document JSONL shards. Returns the stage report (stats, failures)."""
    raw = as_path(raw_dir)
    if not raw.exists():
        raise UsageError(f"{raw}: input directory not found")
    if not raw.is_dir():
        raise UsageError(f"{raw}: not a directory (expected shard folders of audio_/transcript_ pairs)")
    stage = PrepJsonlStage(raw, as_path(output_dir), pairs_per_part)
    if not stage.plan():
        raise UsageError(f"{raw}: no audio_<id>.* / transcript_<id>.* pairs found")
    return run_stage(stage, workers=workers, show_progress=show_progress, executor=executor)
