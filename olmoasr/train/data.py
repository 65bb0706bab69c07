"""Streaming training data: JSONL segment records + their audio containers -> padded batches.

Sharding. A *stream* is one loader worker of one rank (`stream = rank * workers + worker`, `S = world *
workers` streams). Every epoch the JSONL files are visited in a (seeded) order. With at least S files,
stream s reads only the files at positions s, s + S, ... of that order; with fewer files, every stream
reads them all but keeps only the non-blank lines numbered `i % S == s`. Either way ranks and workers
never overlap and nobody holds the manifest in memory. Each stream shuffles through its own buffer (seeded by seed,
epoch and stream) and runs on from epoch to epoch without end.

Resume. A stream's position is `(epoch, consumed)`: how many of its records of that epoch the training
loop has consumed. Restarting replays the line numbering and the shuffle buffer without parsing or
loading audio for the skipped records, so the next sample is exactly the one that would have come next.
The DataLoader deals batches round-robin from its workers; `first_worker` rotates the worker ids so that
the batch order continues where it stopped.

A sample's random decisions (timestamp form or not; with `feature_padding: mixed`, mel or audio padding)
come from one generator seeded by (seed, epoch, file, line), so they are the same whichever rank or worker
reads the line, and on resume. Audio is returned as raw samples (cut at `norm_end` for the no-timestamp
form) with each clip's padding choice; the log-mel (`olmoasr.model.features.log_mel_batch`) runs on the
device.
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from olmoasr.audio import SAMPLE_RATE
from olmoasr.errors import InputError
from olmoasr.io.jsonl import jsonl_files, open_text_read
from olmoasr.log import warn
from olmoasr.records.schema import check_segment
from olmoasr.records.segment_store import SegmentAudioReader
from olmoasr.train.targets import Example, TargetError, build_example

IGNORE_INDEX = -100
WINDOW_SAMPLES = 30 * SAMPLE_RATE
MAX_WARNINGS = 20  # per stream; every skip is still counted


def find_data_files(path: str | os.PathLike[str], what: str = "training data") -> list[Path]:
    files = jsonl_files(path)
    if not files:
        if not Path(path).exists():
            raise InputError(str(path), "missing", f"{what} not found (a JSONL file or a directory of them)")
        raise InputError(str(path), "empty", f"no .jsonl/.jsonl.gz/.jsonl.zst files in {what} directory")
    return files


@dataclass
class StreamSpec:
    """What a loader needs to know (picklable: it travels to worker processes)."""

    files: list[str]
    batch_size: int
    seed: int = 42
    shuffle: bool = True
    shuffle_buffer: int = 2000
    timestamp_prob: float = 0.5
    nospeech_placement: str = "decoder"
    feature_padding: str = "mixed"  # audio | mel | mixed (TrainConfig.feature_padding)
    rank: int = 0
    world_size: int = 1
    num_workers: int = 0
    # resume state: stream worker -> (epoch, consumed); the DataLoader's worker 0 plays `first_worker`
    positions: dict[int, tuple[int, int]] = field(default_factory=dict)
    first_worker: int = 0

    @property
    def workers(self) -> int:
        return max(1, self.num_workers)

    @property
    def num_streams(self) -> int:
        return self.world_size * self.workers


def sample_coins(seed: int, epoch: int, key: tuple[int, int]) -> tuple[float, float]:
    """The sample's uniform draws (timestamp form, feature padding); key = (file number, line number).

    The same whichever rank or worker reads the sample; the first draw is the one the trainer always had.
    """
    rng = random.Random(f"{seed}/{epoch}/{key[0]}/{key[1]}")
    return rng.random(), rng.random()


def feature_pad(policy: str, coin: float) -> str:
    """The padding ("mel" or "audio", see `log_mel_batch`) of a sample's window; mixed: half of each."""
    if policy == "mixed":
        return "mel" if coin < 0.5 else "audio"
    return policy


class SegmentStream(IterableDataset):
    """Yields ready batches (dicts) for one rank; see the module docstring for sharding and resume."""

    def __init__(self, spec: StreamSpec):
        super().__init__()
        self.spec = spec

    # -- record order -------------------------------------------------------------------------
    def _epoch_lines(self, epoch: int, stream: int) -> Iterator[tuple[tuple[int, int], bytes, str]]:
        spec = self.spec
        files = list(enumerate(spec.files))
        if spec.shuffle:
            random.Random(spec.seed * 7919 + epoch).shuffle(files)
        by_file = len(files) >= spec.num_streams  # enough shards: each stream reads only its own files
        index = 0
        for position, (file_id, name) in enumerate(files):
            if by_file and position % spec.num_streams != stream:
                continue
            with open_text_read(name) as fh:
                for line_no, raw in enumerate(fh, start=1):
                    if not raw.strip():
                        continue
                    if by_file or index % spec.num_streams == stream:
                        yield (file_id, line_no), raw, f"{name}:{line_no}"
                    index += 1

    def _shuffled(self, epoch: int, stream: int) -> Iterator[tuple[tuple[int, int], bytes, str]]:
        items = self._epoch_lines(epoch, stream)
        size = self.spec.shuffle_buffer if self.spec.shuffle else 0
        if size <= 1:
            yield from items
            return
        rng = random.Random((self.spec.seed * 104_729 + epoch) * 65_537 + stream)
        buffer: list[tuple[tuple[int, int], bytes, str]] = []
        for item in items:
            buffer.append(item)
            if len(buffer) >= size:
                pick = rng.randrange(len(buffer))
                buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
                yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer

    # -- samples ------------------------------------------------------------------------------
    def _sample(self, key: tuple[int, int], raw: bytes, where: str, epoch: int, reader, tokenizer) -> dict[str, Any]:
        spec = self.spec
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise InputError(where, "malformed_json", f"malformed JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise InputError(where, "malformed_json", "not a JSON object")
        invalid = check_segment(record)  # the stage boundary: a record of the wrong shape is skipped, counted
        if invalid is not None:
            raise InputError(where, invalid, f"not a valid segment record ({invalid})")
        timestamp_coin, padding_coin = sample_coins(spec.seed, epoch, key)
        use_ts = timestamp_coin < spec.timestamp_prob
        try:
            example: Example = build_example(record, use_ts, tokenizer, spec.nospeech_placement)
        except TargetError as err:
            raise InputError(where, err.reason, str(err)) from None
        try:
            audio = reader.read(record)
        except InputError as err:  # named by the record's line too: the container is shared by many records
            raise InputError(where, err.reason, str(err)) from None
        if example.cut_ms is not None:
            audio = audio[: example.cut_ms * SAMPLE_RATE // 1000]
        audio = audio[:WINDOW_SAMPLES]
        return {"key": key, "audio": np.ascontiguousarray(audio, dtype=np.float32), "example": example,
                "pad": feature_pad(spec.feature_padding, padding_coin)}  # fmt: skip

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from olmoasr.model.tokenizer import get_tokenizer

        spec = self.spec
        info = get_worker_info()
        loader_worker = info.id if info is not None else 0
        worker = (loader_worker + spec.first_worker) % spec.workers
        stream = spec.rank * spec.workers + worker
        epoch, consumed = spec.positions.get(worker, (0, 0))
        tokenizer = get_tokenizer(multilingual=False)
        reader = SegmentAudioReader()
        skipped: collections.Counter[str] = collections.Counter()
        warned = 0
        batch: list[dict[str, Any]] = []
        try:
            while True:
                position, produced = 0, 0
                for key, raw, where in self._shuffled(epoch, stream):
                    position += 1
                    if position <= consumed:
                        continue
                    try:
                        sample = self._sample(key, raw, where, epoch, reader, tokenizer)
                    except InputError as err:
                        skipped[err.reason] += 1
                        if warned < MAX_WARNINGS:
                            warn(f"skipping training record: {err}")
                            warned += 1
                        sample = None
                    if sample is not None:
                        produced += 1
                        batch.append(sample)
                    if len(batch) == spec.batch_size:
                        yield collate(batch, worker, epoch, position, skipped)
                        batch, skipped = [], collections.Counter()
                if position == 0 or (produced == 0 and consumed == 0):
                    raise InputError(
                        spec.files[0] if spec.files else "?",
                        "no_data",
                        f"loader stream {stream} of {spec.num_streams} got no usable record in epoch {epoch} "
                        "(fewer records than ranks x loader workers, or every record failed)",
                    )
                epoch, consumed = epoch + 1, 0
        finally:
            reader.close()


def collate(samples: list[dict[str, Any]], worker: int, epoch: int, position: int, skipped) -> dict[str, Any]:
    """Audio clips as they are (the log-mel pads each to the window) and token rows padded to the longest
    sequence (not always 448)."""
    longest_tokens = max(len(s["example"].tokens) for s in samples) - 1
    eot = samples[0]["example"].tokens[-1]
    inputs = torch.full((len(samples), longest_tokens), eot, dtype=torch.long)
    targets = torch.full((len(samples), longest_tokens), IGNORE_INDEX, dtype=torch.long)
    for row, sample in enumerate(samples):
        tokens = torch.tensor(sample["example"].tokens, dtype=torch.long)
        inputs[row, : len(tokens) - 1] = tokens[:-1]
        targets[row, : len(tokens) - 1] = tokens[1:]
    return {
        "clips": [torch.from_numpy(s["audio"]) for s in samples],
        "pads": [s["pad"] for s in samples],
        "inputs": inputs,
        "targets": targets,
        "keys": [s["key"] for s in samples],  # (file number in sorted order, line number)
        "texts": [s["example"].text for s in samples],
        "timestamps": [s["example"].timestamps for s in samples],
        "state": (worker, epoch, position),
        "skipped": dict(skipped),
    }


def make_loader(spec: StreamSpec, prefetch_factor: int = 2, pin_memory: bool = False) -> DataLoader:
    workers = spec.num_workers
    return DataLoader(
        SegmentStream(spec),
        batch_size=None,
        num_workers=workers,
        prefetch_factor=prefetch_factor if workers > 0 else None,
        pin_memory=pin_memory,
        persistent_workers=False,
        multiprocessing_context="fork" if workers > 0 and os.name == "posix" else None,
    )
