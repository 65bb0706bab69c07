"""Evaluation data as a stream of utterances, whatever the source: a Hub set, a local copy of one, a manual
set's folder, a JSONL manifest.

An utterance carries its reference text and a reference to its audio (a path, encoded bytes, or a slice
of a longer recording); audio is decoded only when the runner needs it, with olmoasr's PyAV loader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from olmoasr.audio import SAMPLE_RATE, load_audio
from olmoasr.errors import AudioError, UsageError
from olmoasr.evaluation.registry import EvalSet, HubSource, LocalSource


@dataclass(frozen=True)
class AudioSlice:
    """`start_s`..`end_s` of one channel of a longer recording (Hub5 conversations, CHiME-6 sessions)."""

    path: str
    start_s: float
    end_s: float
    channel: int | None = None


AudioRef = str | bytes | AudioSlice


@dataclass(frozen=True)
class Utterance:
    id: str
    reference: str
    audio: AudioRef | None
    problem: str | None = None  # set when the source row itself is unusable (no audio / no text)


@dataclass(frozen=True)
class EvalData:
    """One set's utterances plus a description of where they come from (kept in results.json)."""

    name: str
    form: str
    source: str
    utterances: Iterator[Utterance]


class AudioDecoder:
    """Decodes utterance audio; keeps the last whole recording so consecutive slices of it decode once."""

    def __init__(self) -> None:
        self._key: tuple[str, int | None] | None = None
        self._samples: np.ndarray | None = None

    def __call__(self, audio: AudioRef | None, uid: str) -> np.ndarray:
        if audio is None:
            raise AudioError(uid, "missing_audio", "row has no audio")
        if isinstance(audio, AudioSlice):
            whole = self._recording(audio.path, audio.channel)
            start = max(0, int(round(audio.start_s * SAMPLE_RATE)))
            end = min(len(whole), int(round(audio.end_s * SAMPLE_RATE)))
            if end <= start:
                raise AudioError(audio.path, "empty_audio", f"slice {audio.start_s:.2f}-{audio.end_s:.2f} s is empty")
            return whole[start:end]
        samples = load_audio(audio)
        if samples.size == 0:
            raise AudioError(uid if isinstance(audio, bytes) else str(audio), "empty_audio", "audio is empty")
        return samples

    def _recording(self, path: str, channel: int | None) -> np.ndarray:
        key = (path, channel)
        if key != self._key:
            self._samples = None  # free the previous recording before loading the next
            self._samples = load_audio(path, channel=channel)
            self._key = key
        assert self._samples is not None
        return self._samples


@dataclass(frozen=True)
class DataOptions:
    cache_dir: str | None = None
    hf_token: str | None = None
    data_root: str | None = None
    streaming: bool = False


def open_eval_set(entry: EvalSet, options: DataOptions) -> EvalData:
    """Utterances of a registry set: `<data-root>/<name>` first when present, else the Hub or its manual layout."""
    from olmoasr.evaluation import hub_datasets, local

    source = entry.source
    if isinstance(source, HubSource):
        local_copy = _local_hub_copy(entry, options.data_root)
        if local_copy is not None:
            dataset = hub_datasets.load_local_hub_dataset(local_copy, split=source.split)
            dataset = hub_datasets.undecoded_audio(dataset, source.audio_column, str(local_copy))
            described = f"local copy {local_copy} of {source.describe()}"
            records = hub_datasets.guarded_rows(dataset, entry.name, str(local_copy))
        else:
            token = options.hf_token or os.environ.get("HF_TOKEN")
            dataset = hub_datasets.load_hub_records(
                source, cache_dir=options.cache_dir, token=token, streaming=options.streaming, set_name=entry.name
            )
            described = source.describe()
            records = hub_datasets.guarded_rows(dataset, entry.name, source.repo_id)
        base = Path(local_copy) if local_copy is not None else None
        utterances = hub_datasets.utterances_from_records(
            records, source.text_field, source.audio_column, entry.name, base
        )
        return EvalData(entry.name, entry.form, described, utterances)
    assert isinstance(source, LocalSource)
    folder = _manual_folder(entry, options.data_root)
    return EvalData(entry.name, entry.form, f"{source.describe()} = {folder}", local.read_layout(entry, folder))


def _local_hub_copy(entry: EvalSet, data_root: str | None) -> Path | None:
    if not data_root:
        return None
    for name in (entry.file_stem, entry.name):
        candidate = Path(data_root) / name
        if candidate.is_dir():
            return candidate
    return None


def _manual_folder(entry: EvalSet, data_root: str | None) -> Path:
    assert isinstance(entry.source, LocalSource)
    how = f"{entry.name} is {entry.access} and not on the Hub: {entry.obtain}"
    if not data_root:
        raise UsageError(f"{how} Then pass --data-root DIR.")
    folder = Path(data_root) / entry.source.folder
    if not folder.is_dir():
        raise UsageError(f"{folder} not found. {how}")
    return folder


def open_manifest(path: str | os.PathLike[str], text_field: str = "text", audio_field: str = "audio") -> EvalData:
    from olmoasr.evaluation import local

    manifest = Path(path)
    if not manifest.is_file():
        raise UsageError(f"{manifest}: manifest not found")
    return EvalData(
        manifest.stem, "short", f"manifest {manifest}", local.read_manifest(manifest, text_field, audio_field)
    )


def open_dataset_dir(
    path: str | os.PathLike[str],
    split: str | None = None,
    text_field: str | None = None,
    audio_column: str | None = None,
    form: str = "short",
) -> EvalData:
    from olmoasr.evaluation import hub_datasets

    root = Path(path)
    dataset = hub_datasets.load_local_hub_dataset(root, split=split)
    text_field, audio_column = hub_datasets.detect_columns(dataset, text_field, audio_column, str(root))
    dataset = hub_datasets.undecoded_audio(dataset, audio_column, str(root))
    base = root if root.is_dir() else root.parent
    records = hub_datasets.guarded_rows(dataset, root.name, str(root))
    utterances = hub_datasets.utterances_from_records(records, text_field, audio_column, root.name, base)
    return EvalData(root.name, form, f"dataset {root} [{text_field}]", utterances)
