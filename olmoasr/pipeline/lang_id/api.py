"""`tag_audio_language`: the spoken language of every document, by majority vote over its segments."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from olmoasr.errors import UsageError
from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.io.storage import absolute, as_path
from olmoasr.pipeline.executor import StageReport, Stats, resolve_workers, run_stage
from olmoasr.pipeline.lang_id.backends import BACKENDS, LanguageClassifier, resolve_device, resolve_model
from olmoasr.pipeline.lang_id.stages import (
    ClassifyStage,
    docs_stage,
    forget_votes_of_other_settings,
    merge_votes,
    plan_shard_files,
    write_audio_lang_map,
    write_stage,
    write_winners,
)

SUMMARY_NAME = "audio_lang_summary.json"


@dataclass(frozen=True)
class LangIdOptions:
    """How to classify. `model`: a Hub repo id or a local directory (voxlingua107), a multilingual checkpoint
    (whisper), an English-only checkpoint (whisper-en: labels `en` or `un`, never another language; default
    the installed offline tiny.en); None = the backend's default model."""

    backend: str = "voxlingua107"
    model: str | None = None
    batch_size: int = 32
    device: str = "auto"
    workers: int | None = None
    loader_threads: int | None = None  # audio-decoding threads per worker; None: 4 on GPU, 1 on CPU
    max_batch_seconds: float | None = None  # padded audio per model call; None: 960 on GPU, 120 on CPU
    threshold: float | None = None  # whisper-en only: average log-probability above which a segment is `en`

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise UsageError(f"--backend {self.backend}: choose from {', '.join(BACKENDS)}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers {self.workers}: must be at least 1")
        if self.max_batch_seconds is not None and self.max_batch_seconds <= 0:
            raise UsageError(f"--max-batch-seconds {self.max_batch_seconds}: must be positive")
        if self.loader_threads is not None and self.loader_threads < 1:
            raise UsageError(f"loader_threads {self.loader_threads}: must be at least 1")
        if self.threshold is not None:
            if self.backend != "whisper-en":
                raise UsageError(f"--threshold is for --backend whisper-en, not {self.backend}")
            from olmoasr.pipeline.lang_id.whisper_en import check_threshold

            check_threshold(self.threshold)


@dataclass
class AudioLangReport:
    """What a `tag lang` run did. `summary` is also written to `<output>/audio_lang_summary.json`."""

    output_dir: Path
    summary: dict[str, Any]
    stages: list[StageReport] = field(default_factory=list)

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        return [(r.stage, key, msg) for r in self.stages for key, msg in r.failures]

    @property
    def ok(self) -> bool:
        return not self.failures


def _default_workers(device: str, shards: int) -> int:
    if device.startswith("cuda"):
        return 1  # one process feeds the GPU; audio decoding runs in its loader threads
    return min(resolve_workers(None), max(1, shards))


def tag_audio_language(
    segments: str | Path,
    output_dir: str | Path,
    options: LangIdOptions | None = None,
    *,
    docs: str | Path | None = None,
    docs_output_dir: str | Path | None = None,
    classifier: LanguageClassifier | None = None,
    show_progress: bool = True,
    executor: Any = None,
    allow_partial: bool = False,
) -> AudioLangReport:
    """Write every segment shard of `segments` to `output_dir` (same names) with `audio_lang` = the
    majority spoken language of its document's speech segments (ties: first seen; null when none could be
    classified). With `docs`, document records get the same field under `docs_output_dir`.

    `classifier` replaces the backend's model (anything with `classify(waveforms) -> [Prediction|None]`).
    An input folder whose upstream run did not finish is refused unless `allow_partial`.
    """
    options = options or LangIdOptions()
    if (docs is None) != (docs_output_dir is None):
        raise UsageError("--docs and --docs-out go together")
    output_dir = as_path(output_dir)
    shards = tuple(plan_shard_files(segments, output_dir, allow_partial))
    doc_shards = tuple(plan_shard_files(docs, docs_output_dir, allow_partial)) if docs is not None else ()
    if docs_output_dir is not None and absolute(as_path(docs_output_dir)) == absolute(output_dir):
        raise UsageError(f"{docs_output_dir}: --docs-out must differ from the segment output directory")
    device = resolve_device(options.device)
    model_path = "<injected>" if classifier is not None else resolve_model(options.backend, options.model)
    workers = options.workers or _default_workers(device, len(shards))
    backend_name = options.backend if classifier is None else getattr(classifier, "name", "custom")
    threshold = _english_threshold(options.threshold) if options.backend == "whisper-en" else None
    forget_votes_of_other_settings(output_dir, {"backend": backend_name, "model": model_path, "threshold": threshold})

    started = time.perf_counter()
    on_gpu = device.startswith("cuda")
    max_batch_seconds = options.max_batch_seconds or (960.0 if on_gpu else 120.0)
    # On CPU every core runs a worker, so one decoding thread each; a GPU worker needs several to keep up.
    loader_threads = options.loader_threads or (4 if on_gpu else 1)
    classify = ClassifyStage(
        shards,
        output_dir,
        options.backend,
        model_path,
        device,
        options.batch_size,
        loader_threads,
        max_batch_seconds,
        classifier,
        threshold=options.threshold,
    )
    classify_report = run_stage(classify, workers=workers, show_progress=show_progress, executor=executor)
    classify_seconds = time.perf_counter() - started

    votes, finished = merge_votes(output_dir, shards)
    winners = votes.winners()
    write_winners(output_dir, finished, winners)
    map_path = write_audio_lang_map(output_dir, winners, as_path(docs_output_dir) if docs_output_dir else None)
    write_workers = options.workers or min(resolve_workers(None), max(1, len(finished)), 8)
    reports = [classify_report]
    if finished:
        write = write_stage(tuple(finished), output_dir, write_workers)
        reports.append(run_stage(write, workers=write_workers, show_progress=show_progress, executor=executor))
    if doc_shards:
        docs = docs_stage(doc_shards, as_path(docs_output_dir), map_path, write_workers)
        reports.append(run_stage(docs, workers=write_workers, show_progress=show_progress, executor=executor))

    summary = summarize(
        classify_report.stats,
        winners,
        reports[1].stats if finished else {},
        reports[-1].stats if doc_shards else None,
        classify_seconds,
        resumed=classify_report.tasks_skipped > 0,
    )
    summary.update(
        backend=backend_name,
        model=model_path,
        device=device,
        **({"threshold": threshold} if threshold is not None else {}),
        failed_shards=[{"stage": r.stage, "shard": k, "error": m} for r in reports for k, m in r.failures],
    )
    atomic_write_bytes(output_dir / SUMMARY_NAME, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return AudioLangReport(output_dir=output_dir, summary=summary, stages=reports)


def _english_threshold(threshold: float | None) -> float:
    from olmoasr.pipeline.lang_id.whisper_en import DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD if threshold is None else threshold


def summarize(
    classify: Stats,
    winners: dict[str, str | None],
    written: Stats,
    docs: Stats | None,
    classify_seconds: float,
    resumed: bool = False,
) -> dict[str, Any]:
    """`resumed`: some shards were classified by an earlier run, so rates over this run's wall time would
    be wrong; per-worker-second rates (from the shards' own timings) stay right."""
    by_lang: dict[str, int] = {}
    without = 0
    for language in winners.values():
        if language is None:
            without += 1
        else:
            by_lang[language] = by_lang.get(language, 0) + 1
    audio_seconds = classify.get("audio_seconds_classified", 0.0)
    segments_classified = int(classify.get("segments_classified", 0))
    model_seconds = classify.get("classify_seconds", 0.0)
    worker_seconds = classify.get("worker_seconds", 0.0)
    summary: dict[str, Any] = {
        "documents": len(winners),
        "documents_by_audio_lang": dict(sorted(by_lang.items(), key=lambda kv: (-kv[1], kv[0]))),
        "documents_without_audio_lang": without,
        "segment_shards": int(classify.get("segment_shards", 0)),
        "segments": int(classify.get("segments", 0)),
        "segments_classified": segments_classified,
        "segments_no_speech": int(classify.get("segments_no_speech", 0)),
        "segments_without_id": int(classify.get("segments_without_id", 0)),
        "segments_audio_error": {
            k.split("/", 1)[1]: int(v) for k, v in classify.items() if k.startswith("segments_audio_error/")
        },
        "segments_by_audio_lang": dict(
            sorted(
                ((k.split("/", 1)[1], int(v)) for k, v in classify.items() if k.startswith("segment_lang/")),
                key=lambda kv: (-kv[1], kv[0]),
            )
        ),
        "malformed_lines": int(classify.get("malformed_lines", 0)),
        "segment_records_written": int(written.get("records", 0)),
        "audio_hours_classified": audio_seconds / 3600,
        "throughput": {
            "wall_seconds": classify_seconds,
            "segments_per_second": None if resumed else segments_classified / max(classify_seconds, 1e-9),
            "audio_seconds_per_second": None if resumed else audio_seconds / max(classify_seconds, 1e-9),
            "worker_seconds": worker_seconds,
            "segments_per_worker_second": segments_classified / worker_seconds if worker_seconds else 0.0,
            "model_seconds": model_seconds,
            "waiting_for_audio_seconds": classify.get("load_wait_seconds", 0.0),
        },
    }
    if docs is not None:
        summary["document_records"] = {
            "written": int(docs.get("records", 0)),
            "with_audio_lang": int(docs.get("records_with_audio_lang", 0)),
            "without_audio_lang": int(docs.get("records_without_audio_lang", 0)),
            "without_segments": int(docs.get("records_without_segments", 0)),
            "malformed_lines": int(docs.get("malformed_lines", 0)),
        }
    return summary
