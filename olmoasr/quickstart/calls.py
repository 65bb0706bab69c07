"""The library call behind each quickstart stage, with the settings of its printed `olmoasr` command.

Each function runs one stage through the function its command calls and returns the stage's report in
a small JSON-able form (kept in the quickstart marker): the numbers the closing summary needs and one
`line` to print. A stage whose shards failed is a `QuickstartError` naming the first failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmoasr.pipeline.executor import StageReport
from olmoasr.quickstart.layout import QuickstartError


def _check(failures: list[tuple[str, str]], what: str) -> None:
    if failures:
        key, message = failures[0]
        raise QuickstartError(f"{what}: {len(failures)} shard(s) failed; first: {key}: {message}")


def _stage_report(report: StageReport, what: str, line: str) -> dict[str, Any]:
    _check(report.failures, what)
    return {"stats": report.stats, "line": line}


def prep_documents(raw_dir: Path, output: Path, workers: int | None, quiet: bool) -> dict[str, Any]:
    from olmoasr.pipeline.prep_jsonl import prep_jsonl

    report = prep_jsonl(raw_dir, output, workers=workers, show_progress=not quiet)
    stats = report.stats
    line = f"{int(stats.get('docs', 0))} documents from {int(stats.get('pairs', 0))} pairs"
    return _stage_report(report, "prep jsonl", line)


def prep_segments(docs_dir: Path, output: Path, workers: int | None, quiet: bool) -> dict[str, Any]:
    from olmoasr.pipeline.prep_segment import prep_segment

    report = prep_segment(docs_dir, output, workers=workers, show_progress=not quiet)
    stats = report.stats
    line = f"{int(stats.get('segments', 0))} segments ({stats.get('hours_out', 0.0) * 60:.1f} min of audio)"
    return _stage_report(report, "prep segment", line)


def tag(level: str, input_dir: Path, output: Path, config: str, workers: int | None, quiet: bool) -> dict[str, Any]:
    from olmoasr.pipeline.tagging import run_tagging

    result = run_tagging(input_dir, output, config, level, workers=workers, show_progress=not quiet)
    _check(result.report.failures, f"tag {level}")
    return {"records": result.summary["records"], "line": f"{int(result.summary['records'])} records tagged"}


def tag_language(
    segments: Path, output: Path, backend: str, model: str | None, device: str | None, workers: int | None, quiet: bool
) -> dict[str, Any]:
    from olmoasr.pipeline.lang_id import LangIdOptions, tag_audio_language

    options = LangIdOptions(backend=backend, model=model, device=device or "auto", workers=workers)
    report = tag_audio_language(segments, output, options, show_progress=not quiet)
    _check([(key, message) for _, key, message in report.failures], "tag lang")
    by_language = report.summary["documents_by_audio_lang"]
    return {"documents_by_audio_lang": by_language, "line": f"documents by audio language: {by_language}"}


def filter_segments(
    input_dir: Path, output: Path, config: str, rejects: Path, workers: int | None, quiet: bool
) -> dict[str, Any]:
    from olmoasr.pipeline.filtering import filter_records

    result = filter_records(input_dir, output, config, rejects_dir=rejects, workers=workers, show_progress=not quiet)
    _check(result.report.failures, "filter")
    kept = result.funnel["kept"]
    return {"funnel": result.funnel, "line": f"{int(kept['records'])} segments kept ({kept['hours'] * 60:.1f} min)"}


def sample_mix(pool: Path, output: Path, hours: float, workers: int | None, quiet: bool) -> dict[str, Any]:
    from olmoasr.pipeline.sampling import sample_records

    result = sample_records(pool, output, hours=hours, seed=0, workers=workers, show_progress=not quiet)
    return {"records": result.records, "line": f"{result.records} segments in the mix ({result.hours * 60:.1f} min)"}


def evaluate_manifest(
    model: str | Path, manifest: Path, output: Path, max_new_tokens: int, device: str | None, quiet: bool
) -> dict[str, Any]:
    """`olmoasr eval --model M --manifest F -o OUT --batch-size 8 --max-new-tokens N [--device D]`."""
    from olmoasr.evaluation import DecodeSettings, EvalOptions, evaluate

    decode = DecodeSettings(long_form_batch_size=8, sample_len=max_new_tokens)
    options = EvalOptions(batch_size=8, output_dir=str(output), decode=decode)
    report = evaluate(str(model), (), manifests=[str(manifest)], options=options, device=device,
                      show_progress=not quiet)  # fmt: skip
    result = report.sets[0]
    if result.error:
        raise QuickstartError(f"eval of {model}: {result.error}")
    summary = {
        "model": report.model,
        **{key: getattr(result, key) for key in ("wer", "ci_low", "ci_high", "substitutions", "deletions")},
        **{key: getattr(result, key) for key in ("insertions", "reference_words", "scored", "rtfx", "status")},
    }
    wer = "no WER" if result.wer is None else f"WER {result.wer:.1f}%"
    return {"eval": summary, "line": f"{wer} on {result.scored} utterances"}


def train_model(config: Path, mix: Path, run_dir: Path, steps: int) -> dict[str, Any]:
    """`olmoasr train -c CONFIG --data MIX --out RUN --train_steps N --ckpt_freq N`."""
    from olmoasr.train import load_config, train

    overrides = {"data": str(mix), "out": str(run_dir), "train_steps": steps, "ckpt_freq": steps}
    result = train(load_config(str(config), overrides))
    return {"steps": result.steps, "export": result.export, "line": f"trained to step {result.steps}"}


def transcribe_file(
    audio: Path, model_path: Path, output: Path, device: str | None, no_fallback: bool
) -> dict[str, Any]:
    """`olmoasr transcribe AUDIO --model M -o OUT -f txt,srt,json [--temperature-increment-on-fallback 0]`."""
    from olmoasr.model import load_model
    from olmoasr.model.decoding.fallback import temperature_schedule
    from olmoasr.model.runtime import inference_dtype, resolve_device
    from olmoasr.outputs.runner import transcribe_files

    target = resolve_device(device)
    model = load_model(str(model_path), device=target, dtype=inference_dtype(target))
    options = {"temperature": temperature_schedule(None, 0)} if no_fallback else {}
    summary = transcribe_files(model, [audio], output, "txt,srt,json", show_progress=False, **options)
    if summary.failed:
        path, reason = summary.failures[0]
        raise QuickstartError(f"transcribe {path}: {reason}")
    return {"line": f"transcribed {summary.audio_seconds:.1f} s of audio"}
