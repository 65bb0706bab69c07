"""`evaluate(model, sets=...)`: the library entry point behind `olmoasr eval`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

from olmoasr.errors import UsageError
from olmoasr.evaluation.recognizer import DecodeSettings, load_recognizer
from olmoasr.evaluation.registry import EvalSet, parse_sets
from olmoasr.evaluation.run_set import Recognizer, RunOptions, SetResult, run_set_safely
from olmoasr.evaluation.sources import DataOptions, open_dataset_dir, open_eval_set, open_manifest


@dataclass(frozen=True)
class EvalOptions:
    batch_size: int = 16
    limit: int | None = None  # first N rows of each set
    output_dir: str | None = None
    cache_dir: str | None = None
    hf_token: str | None = None
    data_root: str | None = None
    streaming: bool | None = None  # None: stream Hub sets only when --limit is given
    bootstrap_draws: int = 1000
    seed: int = 0
    warmup: bool = True
    split: str | None = None  # for --dataset-dir
    text_field: str | None = None  # for --dataset-dir / --manifest
    audio_column: str | None = None  # for --dataset-dir
    decode: DecodeSettings = field(default_factory=DecodeSettings)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"limit must be >= 1, got {self.limit}")
        if self.bootstrap_draws < 0:
            raise UsageError(f"bootstrap draws must be >= 0, got {self.bootstrap_draws}")


@dataclass
class EvalReport:
    model: str
    device: str
    dtype: str
    batch_size: int
    decode: dict[str, Any]
    created: str
    olmoasr_version: str
    sets: list[SetResult]
    outputs: dict[str, str] = field(default_factory=dict)  # files this run wrote ("json", "csv", "chart")
    engine: str = "torch"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["outputs"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalReport:
        known = {f.name for f in fields(SetResult)}
        sets = [SetResult(**{k: v for k, v in s.items() if k in known}) for s in data.get("sets", [])]
        return cls(
            model=str(data.get("model", "?")),
            device=str(data.get("device", "?")),
            dtype=str(data.get("dtype", "?")),
            batch_size=int(data.get("batch_size", 0)),
            decode=dict(data.get("decode", {})),
            created=str(data.get("created", "")),
            olmoasr_version=str(data.get("olmoasr_version", "")),
            sets=sets,
            engine=str(data.get("engine", "torch")),
        )

    def result(self, name: str) -> SetResult:
        for item in self.sets:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def failed(self) -> list[SetResult]:
        return [s for s in self.sets if s.status != "ok"]


def evaluate(
    model: Any = None,
    sets: str | Sequence[str | EvalSet] = (),
    *,
    manifests: Sequence[str | os.PathLike[str]] = (),
    dataset_dirs: Sequence[str | os.PathLike[str]] = (),
    options: EvalOptions | None = None,
    recognizer: Recognizer | None = None,
    device: str | None = None,
    dtype: str | None = None,
    engine: str | None = "auto",
    compute_type: str | None = None,
    model_name: str | None = None,
    show_progress: bool = True,
) -> EvalReport:
    """Evaluate `model` (an olmoasr model or engine, or a name / path for `olmoasr.load_model`) on registry
    sets, JSONL manifests and local Hub-format datasets. Writes results when `options.output_dir` is set.
    A name or path is loaded on `engine` (auto: CTranslate2 when installed, at `compute_type`; torch at `dtype`).

    A set that cannot be loaded (offline, not downloaded, no audio) becomes a result with `status="error"`
    and a one-line `error`; the other sets still run.
    """
    options = options or EvalOptions()
    entries = _entries(sets)
    if not entries and not manifests and not dataset_dirs:
        raise UsageError("nothing to evaluate: name --sets, --manifest or --dataset-dir")
    if recognizer is None:
        if model is None:
            raise UsageError("no model given")
        recognizer = load_recognizer(
            model, options.decode, device=device, dtype=dtype, engine=engine, compute_type=compute_type
        )
    out_dir = Path(options.output_dir) if options.output_dir else None
    streaming = options.streaming if options.streaming is not None else options.limit is not None
    data_options = DataOptions(options.cache_dir, options.hf_token, options.data_root, streaming)
    run_options = RunOptions(options.batch_size, options.limit, options.bootstrap_draws, options.seed, options.warmup)

    jobs: list[tuple[str, str, str, Callable[[], Any]]] = []
    for entry in entries:
        jobs.append((entry.name, entry.form, entry.source.describe(), partial(open_eval_set, entry, data_options)))
    for manifest in manifests:
        opener = partial(open_manifest, manifest, options.text_field or "text")
        jobs.append((Path(manifest).stem, "short", f"manifest {manifest}", opener))
    for directory in dataset_dirs:
        opener = partial(open_dataset_dir, directory, options.split, options.text_field, options.audio_column)
        jobs.append((Path(directory).name, "short", f"dataset {directory}", opener))
    _check_unique([name for name, *_ in jobs])

    results = []
    with _progress(show_progress) as progress:
        for name, form, source, opener in jobs:
            task = progress.add_task(name, total=options.limit) if progress else None
            advance = (lambda n, t=task: progress.advance(t, n)) if progress else None
            stem = name.replace(":", "_")
            utterances_path = out_dir / f"{stem}.utterances.jsonl" if out_dir else None
            result = run_set_safely(
                opener, name, form, source, recognizer, run_options, utterances_path, progress=advance
            )
            if progress is not None:
                status = "" if result.status == "ok" else " [red](failed)[/red]"
                progress.update(task, description=f"{name}{status}", total=result.rows, completed=result.rows)
                progress.stop_task(task)
            if result.status != "ok" and len(jobs) > 1:  # a single set's failure is the caller's one error
                from olmoasr.log import warn

                warn(result.error or f"{name}: failed")
            results.append(result)

    import olmoasr
    from olmoasr.evaluation.published import published_wer

    label = model_name or _model_label(model, recognizer)
    for result in results:
        result.published_wer = published_wer(label, result.name)
    report = EvalReport(
        model=label,
        device=getattr(recognizer, "device", "?"),
        dtype=getattr(recognizer, "dtype", "?"),
        batch_size=options.batch_size,
        decode=options.decode.describe(),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        olmoasr_version=olmoasr.__version__,
        sets=results,
        engine=getattr(recognizer, "engine_name", "?"),
    )
    if out_dir is not None:
        from olmoasr.evaluation.report import write_results

        report.outputs = {kind: str(path) for kind, path in write_results(report, out_dir).items()}
    return report


def _model_label(model: Any, recognizer: Recognizer) -> str:
    if isinstance(model, str | os.PathLike):
        return str(model)
    if model is not None:
        dims = getattr(model, "dims", None)
        shape = f" ({dims.n_audio_state}x{dims.n_audio_layer})" if dims is not None else ""
        return f"{type(model).__name__}{shape}"
    return type(recognizer).__name__


def _entries(sets: str | Sequence[str | EvalSet]) -> list[EvalSet]:
    if isinstance(sets, str):
        return parse_sets(sets)
    chosen: list[EvalSet] = []
    for item in sets:
        for entry in [item] if isinstance(item, EvalSet) else parse_sets(item):
            if entry not in chosen:
                chosen.append(entry)
    return chosen


def _check_unique(names: list[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError(f"two eval inputs are both named '{name}'; rename one of them")
        seen.add(name)


class _NoProgress:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def _progress(enabled: bool):
    if not enabled:
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from olmoasr.console import stderr_console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=False,
    )
