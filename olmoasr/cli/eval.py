"""`olmoasr eval`: WER and speed on the paper's benchmark sets, local manifests and local Hub-format datasets."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from olmoasr.errors import OlmoasrError, UsageError

ORDER = 70

EXAMPLES = """
\b
Examples:
  olmoasr eval --list
  olmoasr eval --model small --sets librispeech_clean,librispeech_other,tedlium,voxpopuli --batch-size 32 -o results/
  olmoasr eval --model ./runs/small/export.pt --sets long:earnings21,long:meanwhile
  olmoasr eval --model tiny --manifest my_test.jsonl --limit 100
  olmoasr eval --model tiny --dataset-dir ./librispeech_test_clean_parquet -o results/
  olmoasr eval --model small --sets wsj,callhome,switchboard --data-root /data/eval
  olmoasr eval --compare results_tiny/results.json results_small/results.json -o chart.png
"""


def _temperatures(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        temps = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--temperature must be comma-separated numbers, got {value!r}") from None
    if not temps:
        raise UsageError("--temperature is empty")
    return temps


def eval_command(
    inputs: list[Path] = typer.Argument(None, help="With --compare: results.json files (or their folders)."),
    model: str = typer.Option(
        None,
        "-m",
        "--model",
        help="Model name (tiny ... large-v2), checkpoint path or Hub id (default: OLMoASR small; offline: tiny.en).",
    ),
    sets: str = typer.Option(None, "-s", "--sets", help="Comma-separated sets (see --list); long-form: long:NAME."),
    manifest: list[Path] = typer.Option(None, "--manifest", help='JSONL of {"audio": path, "text": reference} lines.'),
    dataset_dir: list[Path] = typer.Option(None, "--dataset-dir", help="Local Hub-format dataset folder."),
    output: Path = typer.Option(Path("results"), "-o", "--output", help="Results folder (with --compare: chart .png)."),
    batch_size: int = typer.Option(None, "-b", "--batch-size", help="Short-form clips decoded together (default 16)."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: cuda when available)."),
    fp16: bool = typer.Option(None, "--fp16/--fp32", help="Half precision (default: fp16 on CUDA, fp32 on CPU)."),
    engine: str = typer.Option(
        None, "--engine", help="auto (CTranslate2 when installed, else torch), torch or ctranslate2."
    ),
    compute_type: str = typer.Option(
        None, "--compute-type", help="ctranslate2 engine: auto, int8, int8_float16, float16 or float32."
    ),
    limit: int = typer.Option(None, "--limit", help="Only the first N rows of each set (Hub sets then stream)."),
    cache_dir: str = typer.Option(None, "--cache-dir", help="Hugging Face datasets cache directory."),
    hf_token: str = typer.Option(None, "--hf-token", envvar="HF_TOKEN", help="Token for gated Hub sets."),
    data_root: str = typer.Option(
        None, "--data-root", envvar="OLMOASR_EVAL_DATA", help="Folder with manual/paid sets and local copies."
    ),
    streaming: bool = typer.Option(None, "--streaming/--no-streaming", help="Stream Hub sets instead of caching."),
    beam_size: int = typer.Option(None, "--beam-size", help="Beam size (default: greedy short-form, 5 long-form)."),
    best_of: int = typer.Option(None, "--best-of", help="Samples per fallback temperature, long-form (default 5)."),
    temperature: str = typer.Option(None, "--temperature", help="Comma list, long-form fallback (default 0,0.2,..,1)."),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", help="Cap on tokens per 30 s window (default 224)."),
    long_form_batched: bool = typer.Option(False, "--long-form-batched", help="Long-form: batched windows."),
    feature_padding: str = typer.Option(
        None,
        "--feature-padding",
        help="Short-form clips under 30 s: 'audio' pads the samples (original eval, Hugging Face, Open ASR "
        "Leaderboard; default) or 'mel' pads the spectrogram (as `transcribe` does).",
    ),
    split: str = typer.Option(None, "--split", help="Split of --dataset-dir (default: test, or the only one)."),
    text_field: str = typer.Option(None, "--text-field", help="Reference column of --dataset-dir / --manifest."),
    audio_column: str = typer.Option(None, "--audio-column", help="Audio column of --dataset-dir."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the 95% CI (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    list_sets: bool = typer.Option(False, "--list", help="List every eval set with its source, size and access."),
    compare: bool = typer.Option(False, "--compare", help="Compare results.json files: table and bar chart."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> None:
    """Evaluate a model: corpus WER (Whisper English normaliser, bootstrap 95% CI) and RTFx per set.

    Short-form sets: batched greedy decoding of 30 s windows without timestamps. Long-form sets (long:NAME): sequential transcription with beam 5 and temperature fallback, as the paper did.

    Writes results.json, results.csv, wer.png and <set>.utterances.jsonl to the output folder.
    """  # noqa: E501
    from olmoasr.console import stdout_console

    console = stdout_console()
    if list_sets:
        from olmoasr.evaluation.report import obtain_lines, registry_table

        console.print(registry_table())
        console.print("\nSets read from --data-root DIR (paid or manual):")
        for line in obtain_lines():
            console.print(f"  {line}", soft_wrap=True, markup=False)
        console.print("Any Hub set is also read from DIR/<set name>/ when that folder holds a local copy.")
        return
    if compare:
        _compare(inputs or [], output)
        return
    if inputs:
        raise UsageError(f"unexpected argument {inputs[0]} (results files are only read with --compare)")
    if not model:
        from olmoasr.model import default_model_name

        model = default_model_name()  # OLMoASR on the Hub; offline, the installed tiny.en (said in one line)

    from olmoasr.cli._offline import offline_model_option
    from olmoasr.evaluation import DecodeSettings, EvalOptions, evaluate
    from olmoasr.evaluation.report import results_table
    from olmoasr.model.runtime import fp16_request

    temps = _temperatures(temperature)
    given = dict(
        short_beam_size=beam_size,
        long_beam_size=beam_size,
        long_best_of=best_of,
        long_temperature=temps,
        short_temperature=temps[0] if temps and beam_size is None else None,
        long_form_batched=long_form_batched or None,
        long_form_batch_size=batch_size,
        sample_len=max_new_tokens,
        short_feature_padding=feature_padding,
    )
    decode = DecodeSettings(**{name: value for name, value in given.items() if value is not None})
    options = EvalOptions(
        **({} if batch_size is None else {"batch_size": batch_size}),
        limit=limit,
        output_dir=str(output),
        cache_dir=cache_dir,
        hf_token=hf_token,
        data_root=data_root,
        streaming=streaming,
        bootstrap_draws=bootstrap,
        seed=seed,
        split=split,
        text_field=text_field,
        audio_column=audio_column,
        decode=decode,
    )
    with offline_model_option("--model"):
        report = evaluate(
            model,
            sets or (),
            manifests=manifest or [],
            dataset_dirs=dataset_dir or [],
            options=options,
            device=device,
            dtype=fp16_request(fp16),
            engine=engine or "auto",
            compute_type=compute_type,
            show_progress=not quiet,
        )
    failed = report.failed
    if len(report.sets) == 1 and failed:
        raise OlmoasrError(failed[0].error or f"{failed[0].name}: failed")
    if failed and len(failed) == len(report.sets):
        raise OlmoasrError(f"all {len(failed)} sets failed: {', '.join(r.name for r in failed)}")
    console.print(results_table(report, console.width))
    written = [Path(path).name for path in report.outputs.values()]
    console.print(f"results: {output}/{', '.join(written)}, <set>.utterances.jsonl", soft_wrap=True, markup=False)
    if failed:
        raise OlmoasrError(f"{len(failed)} of {len(report.sets)} sets failed: {', '.join(r.name for r in failed)}")


def _compare(inputs: list[Path], output: Path) -> None:
    from olmoasr.console import stdout_console
    from olmoasr.evaluation.report import comparison_table, load_report, model_labels, plot_wer

    if len(inputs) < 1:
        raise UsageError("--compare needs results.json files (or folders holding one)")
    reports = [load_report(path) for path in inputs]
    stdout_console().print(comparison_table(reports, inputs))
    chart = output if output.suffix == ".png" else output / "compare.png"
    plot_wer(reports, chart, labels=model_labels(reports, inputs))
    stdout_console().print(f"chart: {chart}")


def register(app: typer.Typer) -> None:
    app.command(
        "eval",
        help=inspect.cleandoc(eval_command.__doc__ or "") + "\n" + EXAMPLES,
        context_settings={"help_option_names": ["-h", "--help"]},
    )(eval_command)
