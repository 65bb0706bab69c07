"""Hugging Face datasets as evaluation data: Hub repositories and their local copies (parquet or `save_to_disk`).

Audio columns are always read undecoded (`Audio(decode=False)` gives `{"bytes", "path"}`); olmoasr's own
PyAV loader decodes them, so evaluation never needs torchcodec. Every failure a user can cause (offline,
gated, unknown repo, wrong column) becomes one `OlmoasrError` line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from olmoasr.errors import HubOfflineError, HubUnavailableError, UsageError
from olmoasr.evaluation.registry import HubSource
from olmoasr.evaluation.sources import AudioRef, Utterance
from olmoasr.io.hub_access import hub_online, offline_reason

TEXT_FIELD_GUESSES = ("text", "transcription", "sentence", "normalized_text", "transcript", "raw_text")
ID_FIELD_GUESSES = ("id", "segment_id", "audio_id", "utterance_id", "file", "path")


def import_datasets():
    try:
        import datasets
    except ImportError:
        raise UsageError(
            "Hub and Hub-format eval data need the `datasets` package: pip install 'olmoasr[eval]'"
        ) from None
    return datasets


def load_hub_records(
    source: HubSource, *, cache_dir: str | None, token: str | None, streaming: bool, set_name: str
) -> Iterable[dict[str, Any]]:
    """The split's rows with the audio column undecoded; offline / gated / missing -> one clear line.

    Offline (`olmoasr.io.hub_access`), `datasets` reads only its cache, so a set never downloaded fails at once.
    """
    datasets = import_datasets()
    where = f"{source.repo_id} [{source.config or 'default'}/{source.split}]"
    online = hub_online()
    try:
        dataset = datasets.load_dataset(
            source.repo_id,
            source.config,
            split=source.split,
            revision=source.revision,
            cache_dir=cache_dir,
            token=token or None,
            streaming=streaming and online,
        )
    except (OSError, ValueError, RuntimeError, datasets.exceptions.DatasetsError) as err:
        raise _load_error(err, datasets, set_name, where, online) from None
    return undecoded_audio(dataset, source.audio_column, where)


def _load_error(err: Exception, datasets: Any, set_name: str, where: str, online: bool) -> HubUnavailableError:
    if not online or isinstance(err, ConnectionError):
        reason = offline_reason() if not online else "the Hugging Face Hub did not answer"
        return HubOfflineError(
            f"{set_name}: cannot load {where}: {reason} and it is not in the cache",
            "offline, pass --dataset-dir or --data-root with a local copy",
        )
    if isinstance(err, datasets.exceptions.DatasetNotFoundError):
        gated = "gated" in str(err).lower()
        hint = "accept its terms on the Hub and pass --hf-token (or set HF_TOKEN)" if gated else "check the repo id"
        return HubUnavailableError(f"{set_name}: {where} is not available ({hint})")
    return hub_error(set_name, where, err)


def hub_error(set_name: str, where: str, err: BaseException) -> HubUnavailableError:
    message = " ".join(str(err).split())[:200]
    if any(marker in message.lower() for marker in ("gated", "401", "403", "unauthorized")):
        message += " (a gated set: accept its terms on the Hub and pass --hf-token)"
    return HubUnavailableError(f"{set_name}: loading {where} failed: {message}")


def guarded_rows(records: Iterable[dict[str, Any]], set_name: str, where: str) -> Iterator[dict[str, Any]]:
    """Rows of a (possibly streamed) dataset; a connection lost mid-way becomes one line, not a traceback."""
    iterator = iter(records)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except (OSError, ValueError, RuntimeError) as err:
            raise hub_error(set_name, where, err) from None
        yield row


def load_local_hub_dataset(path: str | os.PathLike[str], split: str | None = None) -> Any:
    """A Hub-format dataset on disk: a `save_to_disk` folder (Dataset or DatasetDict) or parquet files.

    Parquet is streamed (no Arrow copy in the cache); `save_to_disk` data is memory-mapped.
    """
    datasets = import_datasets()
    root = Path(path)
    if not root.exists():
        raise UsageError(f"{root}: dataset folder not found")
    if (root / "dataset_dict.json").is_file() or (root / "state.json").is_file():
        loaded = datasets.load_from_disk(str(root))
        return _pick_split(loaded, split, root)
    parquet = sorted(root.rglob("*.parquet")) if root.is_dir() else [root]
    if not parquet or any(p.suffix != ".parquet" for p in parquet):
        raise UsageError(f"{root}: neither a `save_to_disk` folder nor parquet files")
    splits: dict[str, list[str]] = {}
    for file in parquet:
        splits.setdefault(_split_of(file, root), []).append(str(file))
    chosen = _choose_split(list(splits), split, root)
    return datasets.load_dataset("parquet", data_files={chosen: splits[chosen]}, split=chosen, streaming=True)


def _split_of(file: Path, root: Path) -> str:
    """Hub naming: `data/test-00000-of-00001.parquet`, `clean/test/0000.parquet`, or one split for all."""
    stem = file.stem.split("-")[0]
    if stem and not stem.isdigit() and stem != "data":
        return stem
    parent = file.parent
    if parent != root and parent.name not in ("data",):
        return parent.name.removeprefix("partial-")
    return "test"


def _choose_split(available: list[str], wanted: str | None, root: Path) -> str:
    if wanted and wanted in available:
        return wanted
    if wanted is None and "test" in available:
        return "test"
    if wanted is None and len(available) == 1:
        return available[0]
    raise UsageError(f"{root}: split '{wanted or 'test'}' not found (splits: {', '.join(sorted(available))})")


def _pick_split(loaded: Any, split: str | None, root: Path) -> Any:
    if hasattr(loaded, "keys"):  # DatasetDict
        return loaded[_choose_split(list(loaded.keys()), split, root)]
    return loaded


def undecoded_audio(dataset: Any, audio_column: str, where: str) -> Any:
    datasets = import_datasets()
    columns = dataset.column_names or list((dataset.features or {}).keys())
    if audio_column not in columns:
        raise UsageError(f"{where}: no audio column '{audio_column}' (columns: {', '.join(columns)})")
    return dataset.cast_column(audio_column, datasets.Audio(decode=False))


def detect_columns(dataset: Any, text_field: str | None, audio_column: str | None, where: str) -> tuple[str, str]:
    """(text field, audio column) of a local dataset: given ones are checked, missing ones guessed."""
    datasets = import_datasets()
    features = dataset.features or {}
    columns = list(features.keys()) or list(dataset.column_names or [])
    if audio_column is None:
        audio_like = [name for name, feat in features.items() if isinstance(feat, datasets.Audio)]
        audio_column = audio_like[0] if audio_like else "audio"
    if text_field is None:
        text_field = next((name for name in TEXT_FIELD_GUESSES if name in columns), None)
        if text_field is None:
            raise UsageError(f"{where}: no text column found (columns: {', '.join(columns)}); pass --text-field")
    for kind, name in (("audio column", audio_column), ("text field", text_field)):
        if name not in columns:
            raise UsageError(f"{where}: no {kind} '{name}' (columns: {', '.join(columns)})")
    return text_field, audio_column


def utterances_from_records(
    records: Iterable[dict[str, Any]], text_field: str, audio_column: str, set_name: str, base_dir: Path | None = None
) -> Iterator[Utterance]:
    """Rows -> Utterances. A row without text or audio is still yielded, with a problem the runner counts."""
    for index, row in enumerate(records):
        row_id = next((str(row[k]) for k in ID_FIELD_GUESSES if isinstance(row.get(k), str | int)), None)
        uid = row_id or f"{set_name}-{index:06d}"
        reference = row.get(text_field)
        audio = row.get(audio_column)
        yield Utterance(
            id=uid,
            reference=reference if isinstance(reference, str) else "",
            audio=_audio_ref(audio, base_dir),
            problem=None if isinstance(reference, str) else f"row {index}: text field '{text_field}' is empty",
        )


def _audio_ref(audio: Any, base_dir: Path | None) -> AudioRef | None:
    if isinstance(audio, dict):
        if audio.get("bytes"):
            return bytes(audio["bytes"])
        path = audio.get("path")
        if path:
            return _resolve(path, base_dir)
        return None
    if isinstance(audio, str):
        return _resolve(audio, base_dir)
    if isinstance(audio, bytes | bytearray):
        return bytes(audio)
    return None


def _resolve(path: str, base_dir: Path | None) -> str:
    if base_dir is not None and not os.path.isabs(path) and (base_dir / path).exists():
        return str(base_dir / path)
    return path
