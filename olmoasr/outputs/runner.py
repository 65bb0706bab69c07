"""Transcribe many files (or whole directories) into output files, one bad file never stopping the rest."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from olmoasr.errors import OlmoasrError, UsageError
from olmoasr.model import defaults
from olmoasr.outputs import get_writers

if TYPE_CHECKING:
    from olmoasr.model.network import Whisper


@dataclass(frozen=True)
class InputFile:
    path: Path
    output_dir: Path  # where this file's outputs go (keeps the layout of an input directory)


@dataclass
class RunSummary:
    succeeded: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)


def collect_inputs(
    paths: Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
) -> tuple[list[InputFile], list[tuple[Path, str]]]:
    """Files given directly, plus every audio/video file under given directories (recursively)."""
    from olmoasr.audio import is_media_file

    out = Path(output_dir)
    found: list[InputFile] = []
    missing: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            media = sorted(p for p in path.rglob("*") if p.is_file() and is_media_file(p))
            found += [InputFile(p, out / p.parent.relative_to(path)) for p in media]
        elif path.exists():
            found.append(InputFile(path, out))
        else:
            missing.append((path, "no such file or directory"))
    return found, missing


def check_output_dir(output_dir: str | os.PathLike) -> Path:
    """Refuse, before any model is loaded, an output folder that is a file or cannot be written."""
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: is a file; -o/--output-dir names the folder the transcripts go to")
    for parent in (out, *out.parents):
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{out}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UsageError(f"{out}: cannot write into {parent} (permission denied)")
            break
    return out


def _error_line(err: BaseException) -> str:
    if isinstance(err, OlmoasrError):
        return str(err)
    return f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"


def transcribe_files(
    model: Whisper,
    paths: Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
    formats: str | list[str] = "all",
    *,
    batched: bool = False,
    batch_size: int = defaults.BATCH_SIZE,
    vad: bool = True,
    verbose: bool = False,
    show_progress: bool = True,
    **options: Any,
) -> RunSummary:
    """Transcribe each input and write its outputs; failures are reported as one line each and counted."""
    from olmoasr.log import warn

    writers = get_writers(formats)
    check_output_dir(output_dir)
    inputs, missing = collect_inputs(paths, output_dir)
    summary = RunSummary(failures=list(missing))
    for path, reason in missing:
        warn(f"{path}: {reason}")
    if not inputs and not missing:
        raise UsageError("no audio or video files found in the given paths")

    started = time.perf_counter()
    progress = _progress(show_progress)

    def finish(item: InputFile, outcome: dict[str, Any] | BaseException, task_id) -> None:
        if isinstance(outcome, BaseException):
            summary.failures.append((item.path, _error_line(outcome)))
            warn(
                f"skipped: {_error_line(outcome)}"
                if isinstance(outcome, OlmoasrError)
                else f"skipped: {item.path}: {_error_line(outcome)}"
            )
        else:
            try:
                for writer in writers:
                    writer.write(outcome, item.path, item.output_dir)
            except OSError as err:
                reason = f"{item.output_dir}: cannot write the transcript ({err.strerror or type(err).__name__})"
                summary.failures.append((item.path, reason))
                warn(f"skipped: {item.path}: {reason}")
                if progress is not None:
                    progress.update(task_id, advance=1, description=item.path.name[:40])
                return
            summary.succeeded += 1
            if outcome["segments"]:
                summary.audio_seconds += max(segment["end"] for segment in outcome["segments"])
        if progress is not None:
            progress.update(task_id, advance=1, description=item.path.name[:40])

    with progress or _null():
        task_id = progress.add_task("transcribing", total=len(inputs)) if progress is not None else None
        if batched:
            from olmoasr.model.batched import BatchedTranscriber

            transcriber = BatchedTranscriber(model, batch_size=batch_size, vad=vad, **options)
            try:
                for index, outcome in transcriber.run([str(item.path) for item in inputs]):
                    finish(inputs[index], outcome, task_id)
            except OlmoasrError:
                raise
        else:
            from olmoasr.model.transcribe import transcribe

            for item in inputs:
                try:
                    result = transcribe(model, str(item.path), verbose=verbose or None, **options)
                except (OlmoasrError, RuntimeError, ValueError, OSError) as err:
                    if isinstance(err, UsageError):
                        raise  # a wrong option fails every file alike: stop with its message
                    finish(item, err, task_id)
                    continue
                finish(item, result, task_id)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from olmoasr.console import stderr_console

    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=False,
    )


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None
