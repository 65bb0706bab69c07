"""Transcribe many files (or whole directories) into output files, one bad file never stopping the rest.

Output names: an input's outputs are <output dir>/<its folder under a given directory>/<stem>.<ext>
(a file given directly goes straight into the output dir). Two inputs that would share a name keep
their extension in it (`x.wav` + `x.mp3` -> `x.wav.srt`, `x.mp3.srt`); inputs that would still
share one (`a/x.wav` and `b/x.wav` given as files) are refused before the model loads, in one
line naming both. No run ever overwrites one input's transcript with another's.
"""

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
    from olmoasr.engines.base import Engine
    from olmoasr.model.network import Whisper


@dataclass(frozen=True)
class InputFile:
    path: Path
    output_dir: Path  # where this file's outputs go (keeps the layout of an input directory)
    name: str = ""  # the outputs' file name before the format's extension ("" = the input's stem)

    @property
    def output_name(self) -> str:
        return self.name or self.path.stem


@dataclass
class RunSummary:
    succeeded: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    dropped: list[tuple[Path, list[dict]]] = field(default_factory=list)  # (input, chunks left out)

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
    return name_outputs(found), missing


def name_outputs(inputs: list[InputFile]) -> list[InputFile]:
    """Give every input output names no other input shares (see the module docstring).

    The same file reached twice for the same output folder is transcribed once. Raises UsageError
    naming two inputs whose outputs would still collide with their extensions kept.
    """
    unique: dict[tuple[Path, Path], InputFile] = {}
    for item in inputs:
        unique.setdefault((item.path.resolve(), item.output_dir), item)
    inputs = list(unique.values())
    by_stem: dict[tuple[Path, str], list[InputFile]] = {}
    for item in inputs:
        by_stem.setdefault((item.output_dir, item.path.stem), []).append(item)
    named = [
        InputFile(
            item.path, item.output_dir, item.path.name if len(by_stem[(item.output_dir, item.path.stem)]) > 1 else ""
        )
        for item in inputs
    ]
    taken: dict[tuple[Path, str], InputFile] = {}
    for item in named:
        other = taken.setdefault((item.output_dir, item.output_name), item)
        if other is not item:
            raise UsageError(
                f"{other.path} and {item.path} would both write {item.output_dir / item.output_name}.*; "
                "give their common folder instead (its layout is kept) or run them with different -o folders"
            )
    return named


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
    model: Whisper | Engine,
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
    """Transcribe each input and write its outputs; failures are reported as one line each and counted.

    With `show_progress`, a rich display on stderr shows the files done and, inside the files, the
    audio seconds decoded out of the total with the speed (audio seconds per wall second).
    """
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
    durations: dict[Path, float] = {}  # audio seconds of each input, from the progress callbacks
    display = _Display(len(inputs)) if show_progress else None

    def finish(item: InputFile, outcome: dict[str, Any] | BaseException) -> None:
        if display is not None:
            display.file_done()
        if isinstance(outcome, BaseException):
            summary.failures.append((item.path, _error_line(outcome)))
            warn(
                f"skipped: {_error_line(outcome)}"
                if isinstance(outcome, OlmoasrError)
                else f"skipped: {item.path}: {_error_line(outcome)}"
            )
            return
        try:
            for writer in writers:
                writer.write(outcome, item.path, item.output_dir, item.output_name)
        except OSError as err:
            reason = f"{item.output_dir}: cannot write the transcript ({err.strerror or type(err).__name__})"
            summary.failures.append((item.path, reason))
            warn(f"skipped: {item.path}: {reason}")
            return
        summary.succeeded += 1
        summary.audio_seconds += durations.get(item.path, 0.0)
        if outcome.get("dropped"):
            summary.dropped.append((item.path, outcome["dropped"]))

    with display or _null():
        if batched:
            from olmoasr.model.batched import BatchedTranscriber

            done: dict[int, float] = {}

            def batch_progress(index: int, seconds: float, total: float) -> None:
                durations[inputs[index].path] = total
                done[index] = seconds
                if display is not None:
                    in_flight = sum(1 for i, s in done.items() if s < durations[inputs[i].path])
                    label = f"{in_flight} file(s) in flight" if in_flight else "audio"
                    display.audio(label, sum(done.values()), sum(durations.values()), time.perf_counter() - started)

            transcriber = BatchedTranscriber(model, batch_size=batch_size, vad=vad, **options)
            for index, outcome in transcriber.run([str(item.path) for item in inputs], batch_progress):
                finish(inputs[index], outcome)
        else:
            from olmoasr.model.transcribe import transcribe

            for item in inputs:
                file_started = time.perf_counter()

                def file_progress(seconds: float, total: float, item: InputFile = item, t0: float = file_started):
                    durations[item.path] = total
                    if display is not None:
                        display.audio(item.path.name, seconds, total, time.perf_counter() - t0)

                try:
                    result = transcribe(
                        model, str(item.path), verbose=verbose or None, progress=file_progress, **options
                    )
                except (OlmoasrError, RuntimeError, ValueError, OSError) as err:
                    if isinstance(err, UsageError):
                        raise  # a wrong option fails every file alike: stop with its message
                    finish(item, err)
                    continue
                finish(item, result)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def print_dropped(summary: RunSummary, console, limit: int = 5) -> None:
    """The chunks batched mode left out of the transcripts, per file: time range and reason."""
    if not summary.dropped:
        return
    total = sum(len(chunks) for _, chunks in summary.dropped)
    console.print(
        f'{total} chunk(s) left out of the transcripts (listed under "dropped" in the json output):',
        highlight=False,
        markup=False,
    )
    for path, chunks in summary.dropped:
        shown = [f"{c['start']:.1f}-{c['end']:.1f} s ({c['reason']})" for c in chunks[:limit]]
        more = f", and {len(chunks) - limit} more" if len(chunks) > limit else ""
        console.print(f"  {path}: {', '.join(shown)}{more}", highlight=False, markup=False, soft_wrap=True)


class _Display:
    """Rich progress on stderr: files done out of all, and audio seconds done / total with the speed."""

    def __init__(self, n_files: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from olmoasr.console import stderr_console

        self.progress = Progress(
            TextColumn("{task.description:<24.24}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=stderr_console(),
            transient=False,
        )
        self.n_files = n_files
        self.files = self.progress.add_task("files", total=n_files, detail=f"0/{n_files} files")
        self.seconds = self.progress.add_task("audio", total=None, detail="")

    def file_done(self) -> None:
        self.progress.advance(self.files)
        done = int(self.progress.tasks[self.files].completed)
        self.progress.update(self.files, detail=f"{done}/{self.n_files} files")

    def audio(self, label: str, seconds: float, total: float, wall: float) -> None:
        speed = f", {seconds / wall:.1f}x real time" if wall > 0 and seconds > 0 else ""
        detail = f"{seconds:.1f}/{total:.1f} s audio{speed}"
        self.progress.update(self.seconds, description=label, completed=seconds, total=total, detail=detail)

    def __enter__(self) -> _Display:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None
